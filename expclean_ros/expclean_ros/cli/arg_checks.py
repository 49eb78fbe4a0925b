# Copyright 2026 expclean contributors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""Refuse CLI values that a request field cannot carry, before anything is sent."""

import math

from expclean_ros.cli.main import CliError
from expclean_ros.cli.names import full_node_name

__all__ = ['check_args']

_INT32_MAX = 2 ** 31 - 1
_UINT32_MAX = 2 ** 32 - 1


def check_args(args):
    """Refuse values the request fields cannot carry, before anything is sent."""
    for flag in ('timeout', 'wait'):
        value = getattr(args, flag, None)
        if value is not None and not (math.isfinite(value) and (value > 0 or flag == 'wait')):
            raise CliError(f'--{flag} must be a number of seconds greater than zero, '
                           f'got {value}')
    if getattr(args, 'expect', 0) < 0:
        raise CliError(f'--expect must be a number of nodes, 0 or more, got {args.expect}')
    if hasattr(args, 'node_name'):
        args.node_name = full_node_name(args.node_name)
    for name in ('run_index', 'total_runs'):
        value = getattr(args, name, None)
        if value is not None and not 0 <= value <= _INT32_MAX:
            raise CliError(f'{name} must be between 0 and {_INT32_MAX}, got {value}')
    pid = getattr(args, 'pid', 0)
    if pid and not 1 < pid <= _UINT32_MAX:
        raise CliError(f'--pid must be a process id greater than 1, got {pid}')
