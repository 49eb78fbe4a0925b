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
``expclean memory``: one node's memory, once or ``--watch``; ``--all``: every node's.

With ``--watch`` on a terminal the table is redrawn in place under a timestamp, and a reading
the node cannot take (no GPU, NVML missing) is in the one table on screen, not in a block per tick.
Piped, each reading is one plain line with its time (``memory_all.memory_line``),
what cannot be read said in the first only.
"""

import json
import sys
import time

from expclean_ros.cli.arg_checks import check_args
from expclean_ros.cli.main import CliError
from expclean_ros.cli.memory_all import memory_line
from expclean_ros.cli.memory_format import memory_dict, memory_table
from expclean_ros.cli.ros_session import call_service, find_nodes, ros_client

__all__ = ['memory', 'GET_MEMORY_TIMEOUT_S']

GET_MEMORY_TIMEOUT_S = 30.0
#: Home the cursor and clear the screen below it: the next table replaces the last one.
REDRAW = '\x1b[H\x1b[J'


def memory(args):
    """Read one node (or all, ``--all``) once, or ``--watch`` until Ctrl-C or ``--count``."""
    check_args(args)
    from expclean_interfaces.srv import GetMemoryUsage
    if args.interval <= 0:
        raise CliError('--interval must be greater than zero')
    timeout = args.timeout or GET_MEMORY_TIMEOUT_S
    with ros_client() as client:
        if args.all:
            from expclean_ros.cli.memory_all import memory_all
            found = find_nodes(client, args, (GetMemoryUsage, 'get_memory'))
            return memory_all(client, found, args, timeout)
        show = Shower(args, sys.stdout.isatty())
        while True:
            response = call_service(client, GetMemoryUsage, f'{args.node_name}/get_memory',
                                    GetMemoryUsage.Request(), timeout)
            if not response.success:
                raise CliError(response.message)
            show(response.memory)
            if not args.watch or (args.count and show.shown >= args.count):
                return 0
            time.sleep(args.interval)


class Shower:
    """Print one reading: JSON, a table, a table redrawn in place, or a timestamped line."""

    def __init__(self, args, tty):
        self._json, self._node, self._interval = args.json, args.node_name, args.interval
        self._redraw = args.watch and tty and not args.json
        self._lines = args.watch and not tty and not args.json
        self.shown = 0
        self._said = set()

    def __call__(self, msg):
        self.shown += 1
        stamp = time.strftime('%H:%M:%S')
        if self._json:
            print(json.dumps(memory_dict(msg)))
        elif self._lines:
            print(f'{stamp} {self._once(memory_line(self._node, msg), msg.gpu_status)}')
        elif self._redraw:
            print(f'{REDRAW}{self._node} at {stamp}, every {self._interval:g} s (Ctrl-C to stop)')
            print(memory_table(msg))
        else:
            print(memory_table(msg))

    def _once(self, line, status):
        """Return ``line``; what the node cannot read (gpu_status) is said the first time only."""
        if status and status in self._said:
            return line.replace(f' ({status})', '')
        self._said.add(status)
        return line
