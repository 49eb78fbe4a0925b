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

"""
The teardown's default waits after SIGINT, SIGTERM and SIGKILL: one place for all callers.

Shorter than ``ros2 launch``'s 5 s + 5 s, meant for between-run use, where a
node that needs more than 2 s to handle Ctrl-C is stopped with SIGTERM. The
core teardown, the sequencer's options, the node's parameters, the launch
actions and the CLI all take their defaults from here. Imports nothing.

>>> DEFAULT_STOP_TIMEOUTS_S
(2.0, 2.0, 1.0)
"""

__all__ = ['DEFAULT_SIGINT_TIMEOUT_S', 'DEFAULT_SIGTERM_TIMEOUT_S', 'DEFAULT_SIGKILL_TIMEOUT_S',
           'DEFAULT_STOP_TIMEOUTS_S', 'stop_timeouts_text']

DEFAULT_SIGINT_TIMEOUT_S = 2.0
DEFAULT_SIGTERM_TIMEOUT_S = 2.0
DEFAULT_SIGKILL_TIMEOUT_S = 1.0
#: (SIGINT, SIGTERM, SIGKILL) waits, seconds.
DEFAULT_STOP_TIMEOUTS_S = (DEFAULT_SIGINT_TIMEOUT_S, DEFAULT_SIGTERM_TIMEOUT_S,
                           DEFAULT_SIGKILL_TIMEOUT_S)


def stop_timeouts_text(timeouts=DEFAULT_STOP_TIMEOUTS_S) -> str:
    """
    Return the waits as the command line writes them.

    >>> stop_timeouts_text()
    '2,2,1'
    """
    return ','.join(f'{t:g}' for t in timeouts)
