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

"""Arguments of the verbs that talk to cleanup nodes (call_verb, memory_verb, teardown_verb)."""

from expclean_ros.cli.call_verb import between_runs, call, nodes
from expclean_ros.cli.memory_verb import GET_MEMORY_TIMEOUT_S, memory
from expclean_ros.cli.names import DEFAULT_NODE
from expclean_ros.cli.teardown_verb import teardown
from expclean_ros.core.cleanup import PLANS

__all__ = ['add_arguments', 'VERBS']

NODE_HELP = "full name of the cleanup node (e.g. '/robot1/cleanup'; default: /cleanup)"
CLEANUP_TIMEOUT_HELP = ("seconds to wait for the answer (default: the longest cleanup the "
                        "node's parameters allow, plus a margin)")


def _common(p, timeout_help=CLEANUP_TIMEOUT_HELP):
    p.add_argument('node_name', nargs='?', default=DEFAULT_NODE, metavar='NODE', help=NODE_HELP)
    p.add_argument('--timeout', type=float, default=None, help=timeout_help)
    p.add_argument('--json', action='store_true', help='print JSON instead of text')


def _discovery(p, expect_help):
    p.add_argument('--wait', '--spin-time', dest='wait', type=float, default=10.0,
                   metavar='S',
                   help='at most this many seconds to discover nodes: discovery ends once '
                        'the set of cleanup nodes stopped changing, or with --expect once '
                        'that many are found (default: 10)')
    p.add_argument('--expect', type=int, default=0, metavar='N', help=expect_help)


def add_call(p):
    _common(p)
    p.add_argument('plan', choices=PLANS)
    p.add_argument('--all', action='store_true',
                   help='call every cleanup node on the graph at once, one line per node')
    _discovery(p, 'with --all: call as soon as N cleanup nodes are found, and fail unless at '
                  'least N answer')
    p.set_defaults(func=call)


def add_between_runs(p):
    _common(p)
    p.add_argument('run_index', type=int, help='0-based index of the run that just ended')
    p.add_argument('total_runs', type=int, help='number of runs in the batch')
    p.add_argument('--quick', action='store_true', help='quick instead of comprehensive')
    p.add_argument('--wait', type=float, default=-1.0,
                   help='fixed wait in seconds (default: settle, capped automatically)')
    p.set_defaults(func=between_runs)


def add_memory(p):
    _common(p, f'seconds to wait for each reading (default: {GET_MEMORY_TIMEOUT_S:g})')
    p.add_argument('--watch', action='store_true',
                   help='repeat until Ctrl-C (on a terminal: redrawn in place)')
    p.add_argument('--interval', type=float, default=1.0,
                   help='seconds between readings (default: 1)')
    p.add_argument('--count', type=int, default=0, help='with --watch: stop after N readings')
    p.add_argument('--all', action='store_true',
                   help='every cleanup node on the graph, one line per node (host)')
    _discovery(p, 'with --all: read as soon as N cleanup nodes are found, and fail unless at '
                  'least N are')
    p.set_defaults(func=memory)


def add_teardown(p):
    _common(p)
    p.add_argument('--tag', default='',
                   help="run tag to stop (e.g. 'run-0123...'; the variable is the node's)")
    p.add_argument('--pid', type=int, default=0,
                   help='stop this process and its tree (its start time is sent along, so a '
                        'reused pid is refused)')
    p.add_argument('--pattern', action='append', default=[],
                   help="regular expression on command lines (repeatable), e.g. 'ros2 bag play'")
    p.add_argument('--dry-run', action='store_true', help='list what would be stopped')
    p.add_argument('--last', action='store_true',
                   help='here, without a node: stop what the recorded runs of launches that '
                        'are gone (e.g. killed by SIGKILL) left running')
    p.set_defaults(func=teardown)


def add_nodes(p):
    _discovery(p, 'fail unless at least N cleanup nodes are found (discovery ends once N are '
                  'and the set stopped changing)')
    p.add_argument('--json', action='store_true', help='print JSON instead of text')
    p.set_defaults(func=nodes)


#: verb -> (one-line help, example, argument builder); ``expclean`` and ``ros2 cleanup`` share it.
VERBS = {
    'call': ('run a quick or comprehensive cleanup on a node',
             "{prog} call /robot1/cleanup comprehensive; {prog} call quick --all --expect 3",
             add_call),
    'between-runs': ("the original script's cleanup_between_runs(I, N) on a node",
                     '{prog} between-runs /robot1/cleanup 3 10 --quick', add_between_runs),
    'memory': ('RAM, swap, GPU and DDS shared memory of a node (--all: of every node)',
               '{prog} memory /robot1/cleanup --watch; {prog} memory --all', add_memory),
    'teardown': ('stop the processes of a run through a node',
                 '{prog} teardown /robot1/cleanup --tag run-0123... --dry-run', add_teardown),
    'nodes': ('list every cleanup node on the graph', '{prog} nodes --expect 3', add_nodes),
}


def add_arguments(sub, prog='expclean'):
    for name, (help_, example, add) in VERBS.items():
        add(sub.add_parser(name, help=help_,
                           description=f"{help_[0].upper()}{help_[1:]}, e.g. "
                                       f"'{example.format(prog=prog)}'"))
