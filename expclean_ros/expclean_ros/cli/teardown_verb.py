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

"""``expclean teardown``: stop the processes of a run through a node (or ``--last``, here)."""

import json
import os

from expclean_ros.cli.arg_checks import check_args
from expclean_ros.cli.main import CliError
from expclean_ros.cli.ros_session import call_service, cleanup_timeout, ros_client

__all__ = ['teardown']


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
    with ros_client() as client:
        timeout = cleanup_timeout(client, args, [args.node_name], 'teardown')
        response = call_service(client, Teardown, f'{args.node_name}/teardown', request, timeout)
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
