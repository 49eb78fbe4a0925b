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

"""Verbs that talk to cleanup nodes over ROS: call, between-runs, memory, teardown, nodes."""

import json
import os
import sys
import time

from expclean_ros.cli.arg_checks import check_args
from expclean_ros.cli.main import CliError, own_stdout
from expclean_ros.cli.memory_format import memory_dict, memory_table
from expclean_ros.cli.names import DEFAULT_NODE, start_command
from expclean_ros.core.cleanup import PLANS

__all__ = ['add_arguments']

GET_MEMORY_TIMEOUT_S = 30.0


NODE_HELP = "full name of the cleanup node (e.g. '/robot1/cleanup'; default: /cleanup)"


def _common(p):
    p.add_argument('node_name', nargs='?', default=DEFAULT_NODE, metavar='NODE', help=NODE_HELP)
    p.add_argument('--timeout', type=float, default=None,
                   help='seconds to wait for an answer (default: the longest cleanup the '
                        "node's parameters allow, plus a margin)")
    p.add_argument('--json', action='store_true', help='print JSON instead of text')


def _discovery(p):
    p.add_argument('--wait', '--spin-time', dest='wait', type=float, default=10.0,
                   metavar='S',
                   help='at most this many seconds to discover nodes: discovery ends once '
                        'the set of cleanup nodes stopped changing (default: 10)')
    p.add_argument('--expect', type=int, default=0, metavar='N',
                   help='fail unless at least N cleanup nodes are found (and, for call, answer)')


def add_call(p):
    _common(p)
    p.add_argument('plan', choices=PLANS)
    p.add_argument('--all', action='store_true',
                   help='call every cleanup node on the graph at once, one line per node')
    _discovery(p)
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
    _common(p)
    p.add_argument('--watch', action='store_true', help='repeat until Ctrl-C')
    p.add_argument('--interval', type=float, default=1.0, help='seconds between readings')
    p.add_argument('--count', type=int, default=0, help='with --watch: stop after N readings')
    p.add_argument('--all', action='store_true',
                   help='every cleanup node on the graph, one line per node (host)')
    _discovery(p)
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
    _discovery(p)
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


def _timeout(client, args, nodes, plan, wait_s=None):
    """
    Return ``--timeout``, or a function reading the longest cleanup the nodes allow.

    The function reads the nodes' parameters (defaults if unread); ``CleanupClient.call_many``
    calls it while the call is out.
    """
    if args.timeout is not None:
        return args.timeout

    def longest():
        from expclean_ros.ros.client import ClientError
        from expclean_ros.ros.parameters import DEFAULTS, longest_cleanup_s
        most = 0.0
        for node in nodes:
            try:
                values = client.parameters(node, sorted(DEFAULTS))
            except ClientError:  # an old node, or parameter services off: the defaults
                values = {}
            most = max(most, longest_cleanup_s(values, plan, wait_s))
        return most
    return longest


def _client():
    from expclean_ros.ros.client import CleanupClient
    from expclean_ros.core.ros_domain import MAX_DOMAIN_ID, parse_domain_id
    domain = os.environ.get('ROS_DOMAIN_ID', '').strip()
    number = parse_domain_id(domain)  # None (no number): rcl refuses it, saying so
    if number is not None and number > MAX_DOMAIN_ID:  # Fast DDS would exit the process
        raise CliError(f'ROS_DOMAIN_ID must be between 0 and {MAX_DOMAIN_ID}, got {domain}')
    own_stdout()  # Fast DDS's console errors go to stderr, never into our output
    return CleanupClient(name='expclean_cli')


def find_nodes(client, args):
    """
    Return the cleanup nodes on the graph (see CleanupClient.find_cleanup_nodes).

    Error if none.
    """
    found = client.find_cleanup_nodes(timeout_s=args.wait, expect=args.expect)
    if not found:
        raise CliError(f'no cleanup node found on the graph within {args.wait:g} s '
                       f'(same ROS_DOMAIN_ID={os.environ.get("ROS_DOMAIN_ID", "0")}?); '
                       f'start one with: {start_command()}')
    from expclean_ros.ros.duplicate_watch import DUPLICATE_HINT, same_name_count
    for name in found:
        count = same_name_count(client.node, name)
        if count > 1:
            print(f'warning: {count} nodes named {name} are on the graph: {DUPLICATE_HINT}',
                  file=sys.stderr)
    return found


def call(args):
    check_args(args)
    from std_srvs.srv import Trigger

    from expclean_ros.ros.client import ClientError
    rows = []
    with _client() as client:
        nodes = find_nodes(client, args) if args.all else [args.node_name]
        if args.json:  # the steps come in ~/report: its subscriptions made before the call
            reports = ReportReader(client, nodes)
        timeout = _timeout(client, args, nodes, args.plan)
        answers = client.call_many(Trigger, [f'{n}/{args.plan}' for n in nodes],
                                   Trigger.Request, timeout_s=timeout)
        for node in nodes:
            answer = answers[f'{node}/{args.plan}']
            if isinstance(answer, ClientError):
                if not args.all:
                    raise call_error(client, node, answer)
                rows.append({'node': node, 'answered': False, 'success': False,
                             'message': str(answer)})
            else:
                rows.append({'node': node, 'answered': True, 'success': answer.success,
                             'message': answer.message})
                if args.json:
                    rows[-1].update(reports.of(node, answer.message))
    for row in rows:
        if args.json:
            print(json.dumps(row))
        elif args.all:
            print(f"{row['node']}: {'answered' if row['answered'] else 'NO ANSWER'}: "
                  f"{row['message']}")
        else:
            print(row['message'])
    answered = sum(row['answered'] for row in rows)
    if answered < args.expect:
        raise CliError(f'{answered} of {args.expect} expected cleanup nodes answered')
    return 0 if all(row['success'] for row in rows) else 1


class ReportReader:
    """The ``~/report`` of each node, for ``--json``: the steps of the cleanup a call ran."""

    WAIT_S = 5.0  # the node publishes the report before it answers: it comes at once

    def __init__(self, client, nodes):
        from expclean_interfaces.msg import CleanupReport

        from expclean_ros.ros.qos import LATCHED_QOS
        self._client, self._type, self._qos = client, CleanupReport, LATCHED_QOS
        for node in nodes:
            client.subscribe(CleanupReport, f'{node}/report', LATCHED_QOS)

    def of(self, node, message):
        """
        Return ``steps`` etc. of the report whose message is the answer's.

        The report whose message is the answer's (``steps: None`` when there is none: a busy
        answer, a refused call).
        """
        from expclean_ros.ros.client import ClientError
        deadline = time.monotonic() + self.WAIT_S
        while time.monotonic() < deadline:
            try:
                report = self._client.wait_for_message(
                    self._type, f'{node}/report', timeout_s=0.5, qos=self._qos)
            except ClientError:
                continue
            if report.message == message:
                return {'plan': report.plan, 'duration_s': report.duration_s,
                        'processes_stopped': report.processes_stopped,
                        'processes_left': report.processes_left,
                        'steps': [{'name': st.name, 'status': st.status, 'detail': st.detail,
                                   'duration_s': st.duration_s} for st in report.steps]}
            self._client.spin_for(0.05)
        return {'steps': None}


def between_runs(args):
    check_args(args)
    from expclean_interfaces.srv import CleanupBetweenRuns
    request = CleanupBetweenRuns.Request(
        run_index=args.run_index, total_runs=args.total_runs,
        comprehensive=not args.quick, wait_time_s=args.wait, verbose=True,
        caller_pid=os.getpid())
    from expclean_ros.core.cleanup.plans import auto_cap
    wait = args.wait if args.wait >= 0 else auto_cap(max(1, args.total_runs), not args.quick)
    with _client() as client:
        timeout = _timeout(client, args, [args.node_name], PLANS[not args.quick], wait)
        response = _call(client, CleanupBetweenRuns, f'{args.node_name}/between_runs',
                         request, timeout)
    if args.json:
        print(json.dumps({'success': response.success, 'skipped': response.skipped,
                          'message': response.message}))
    else:
        print(response.message)
    return 0 if response.success else 1


def _call(client, srv_type, name, request, timeout_s):
    from expclean_ros.ros.client import ClientError
    try:
        return client.call(srv_type, name, request, timeout_s=timeout_s)
    except ClientError as exc:
        raise call_error(client, name.rpartition('/')[0], exc) from None


def call_error(client, node, exc):
    """
    Return the error of a call to ``node`` that got no answer.

    Where the node's service never appeared, with the cleanup nodes that are on the graph and how
    to start this one.
    """
    if not str(exc).startswith('no service'):
        return CliError(str(exc))
    seen = client.find_cleanup_nodes(timeout_s=1.0, quiet_s=0.5)
    return CliError(f'{exc} Cleanup nodes seen: {", ".join(seen) or "none"}; start {node} '
                    f'with: {start_command(node)}')


def memory(args):
    check_args(args)
    from expclean_interfaces.srv import GetMemoryUsage
    if args.interval <= 0:
        raise CliError('--interval must be greater than zero')
    shown = 0
    with _client() as client:
        if args.all:
            from expclean_ros.cli.memory_all import memory_all
            return memory_all(client, find_nodes(client, args), args,
                              args.timeout or GET_MEMORY_TIMEOUT_S)
        while True:
            response = _call(client, GetMemoryUsage, f'{args.node_name}/get_memory',
                             GetMemoryUsage.Request(), args.timeout or GET_MEMORY_TIMEOUT_S)
            if not response.success:
                raise CliError(response.message)
            print(json.dumps(memory_dict(response.memory)) if args.json
                  else memory_table(response.memory))
            shown += 1
            if not args.watch or (args.count and shown >= args.count):
                return 0
            time.sleep(args.interval)


def _start_time(pid):
    """
    ``pid``'s start time (field 22 of /proc/PID/stat), which the node checks.

    A launcher that has exited is still reachable through the processes left in
    its session or process group: then the oldest of them bounds its start time.
    """
    from expclean_ros.core.procs import proctable
    root = proctable.read_proc(pid)
    if root is not None:
        return root.start_ticks
    left = [p.start_ticks for p in proctable.snapshot().values()
            if pid in (p.sid, p.pgid) and not p.zombie]
    if not left:
        raise CliError(f'--pid {pid}: no such process on this machine (and none left in its '
                       f'session or process group)')
    return min(left)


def teardown_last(args):
    """``teardown --last``: the recorded runs whose launch is gone, stopped in-process."""
    from expclean_ros.core.runs import launch_record
    if args.dry_run or args.tag or args.pid or args.pattern:
        raise CliError('--last takes no other selection and no --dry-run')
    stale = launch_record.stop_stale()
    for rec, result in stale:
        print(f'run {rec.run_id} (launch pid {rec.launch_pid}, gone): {result.summary()}')
    alive = [r for r in launch_record.records() if r.launch_alive()]
    if not stale:
        print(f'no recorded run of a launch that is gone (in {launch_record.state_dir()})')
    for rec in alive:
        print(f'run {rec.run_id}: its launch (pid {rec.launch_pid}) still runs: stop it '
              'with Ctrl-C or SIGTERM')
    return 0 if all(not result.left for _, result in stale) else 1


def teardown(args):
    check_args(args)
    if args.last:
        return teardown_last(args)
    from expclean_interfaces.srv import Teardown
    if not (args.tag or args.pid or args.pattern):
        raise CliError('give a selection: --tag, --pid or --pattern '
                       '(expclean never stops everything)')
    start_time = _start_time(args.pid) if args.pid else 0
    request = Teardown.Request(run_tag=args.tag, root_pid=args.pid, root_start_time=start_time,
                               patterns=args.pattern, dry_run=args.dry_run,
                               caller_pid=os.getpid())
    with _client() as client:
        timeout = _timeout(client, args, [args.node_name], 'teardown')
        response = _call(client, Teardown, f'{args.node_name}/teardown', request, timeout)
    if args.json:
        print(json.dumps({
            'success': response.success, 'message': response.message,
            'stopped': response.stopped, 'left': response.left, 'mechanism': response.mechanism,
            'processes': [{'pid': p.pid, 'name': p.name, 'cmdline': p.cmdline,
                           'reason': p.reason, 'stage': p.stage, 'detail': p.detail}
                          for p in response.processes]}))
    else:
        print(response.message)
        if response.processes:
            print(f'  {"pid":>7}  {"stage":<10} {"name":<16} why selected (why left, if so)')
        for p in response.processes:
            print(f'  {p.pid:>7}  {p.stage:<10} {p.name:<16} {p.reason}'
                  + (f' ({p.detail})' if p.detail else ''))
    return 0 if response.success else 1


def nodes(args):
    check_args(args)
    with _client() as client:
        found = find_nodes(client, args)
    if args.json:
        print(json.dumps(found))
    else:
        for name in found:
            print(name)
    if len(found) < args.expect:
        raise CliError(f'{len(found)} of {args.expect} expected cleanup nodes found '
                       f'within {args.wait:g} s')
    return 0
