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

"""``expclean call``, ``between-runs`` and ``nodes``: cleanups on one node or all of them."""

import json
import os
import time

from expclean_ros.cli.arg_checks import check_args
from expclean_ros.cli.main import CliError
from expclean_ros.cli.ros_session import (call_error, call_service, cleanup_timeout, find_nodes,
                                          ros_client)
from expclean_ros.core.cleanup import PLANS

__all__ = ['call', 'between_runs', 'nodes', 'ReportReader']


def call(args):
    """``expclean call``: one node, or every node with ``--all``; one row per node."""
    check_args(args)
    from std_srvs.srv import Trigger

    from expclean_ros.ros.client import ClientError
    rows = []
    with ros_client() as client:
        nodes = (find_nodes(client, args, (Trigger, args.plan)) if args.all
                 else [args.node_name])
        if args.json:  # the steps come in ~/report: its subscriptions made before the call
            reports = ReportReader(client, nodes)
        timeout = cleanup_timeout(client, args, nodes, args.plan)
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
    _print_rows(rows, args)
    answered = sum(row['answered'] for row in rows)
    if answered < args.expect:
        raise CliError(f'{answered} of {args.expect} expected cleanup nodes answered')
    return 0 if all(row['success'] for row in rows) else 1


def _print_rows(rows, args):
    for row in rows:
        if args.json:
            print(json.dumps(row))
        elif args.all:
            print(f"{row['node']}: {'answered' if row['answered'] else 'NO ANSWER'}: "
                  f"{row['message']}")
        else:
            print(row['message'])


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
    """``expclean between-runs``: the original script's between-runs cleanup as a call."""
    check_args(args)
    from expclean_interfaces.srv import CleanupBetweenRuns
    request = CleanupBetweenRuns.Request(
        run_index=args.run_index, total_runs=args.total_runs,
        comprehensive=not args.quick, wait_time_s=args.wait, verbose=True,
        caller_pid=os.getpid())
    from expclean_ros.core.cleanup.plans import auto_cap
    wait = args.wait if args.wait >= 0 else auto_cap(max(1, args.total_runs), not args.quick)
    with ros_client() as client:
        timeout = cleanup_timeout(client, args, [args.node_name], PLANS[not args.quick], wait)
        response = call_service(client, CleanupBetweenRuns, f'{args.node_name}/between_runs',
                                request, timeout)
    if args.json:
        print(json.dumps({'success': response.success, 'skipped': response.skipped,
                          'message': response.message}))
    else:
        print(response.message)
    return 0 if response.success else 1


def nodes(args):
    """``expclean nodes``: the cleanup nodes on the graph."""
    check_args(args)
    with ros_client() as client:
        found = find_nodes(client, args, settle=True)
    if args.json:
        print(json.dumps(found))
    else:
        for name in found:
            print(name)
    if len(found) < args.expect:
        raise CliError(f'{len(found)} of {args.expect} expected cleanup nodes found '
                       f'within {args.wait:g} s')
    return 0
