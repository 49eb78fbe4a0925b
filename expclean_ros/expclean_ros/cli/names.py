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

"""Full node names on the command line, as ros2cli takes them (``/robot1/cleanup``)."""

from expclean_ros.cli.main import CliError
from expclean_ros.core import node_names

__all__ = ['DEFAULT_NODE', 'full_node_name', 'start_command']

DEFAULT_NODE = '/cleanup'


def full_node_name(text: str) -> str:
    """
    ``text`` as a full node name (:func:`expclean_ros.core.node_names.full_node_name`).

    Or a CliError saying the rule.

    >>> full_node_name('robot1/cleanup')
    '/robot1/cleanup'
    """
    try:
        return node_names.full_node_name(text)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def start_command(node: str = DEFAULT_NODE) -> str:
    """
    Return the command that starts a cleanup node named ``node`` for this user.

    ``ros2 launch`` where launch is installed, ``make run`` in this project's own environment, else
    the node's console command.

    >>> '/robot1' in start_command('/robot1/cleanup')
    True
    """
    import importlib.util
    import os
    import sys
    namespace, _, base = node.rpartition('/')
    remaps = (f' -r __ns:={namespace}' if namespace else '') + (
        f' -r __node:={base}' if base != 'cleanup' else '')
    spec = importlib.util.find_spec('ros2launch')
    if spec is not None and spec.origin and base == 'cleanup':
        return 'ros2 launch expclean_ros cleanup.launch.py' + (
            f' namespace:={namespace}' if namespace else '')
    checkout = os.path.dirname(sys.prefix)
    if (os.path.basename(sys.prefix).startswith('.venv-')
            and os.path.isfile(os.path.join(checkout, 'Makefile'))
            and os.path.isdir(os.path.join(checkout, 'expclean_ros'))):
        return f'make run ARGS="--ros-args{remaps}"' if remaps else 'make run'
    return f'cleanup_node --ros-args{remaps}' if remaps else 'cleanup_node'
