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
``expclean run --via-service`` over several hosts.

Each cleanup node tears the run's tag down on its own host, then runs the between-runs cleanup; all
nodes at once.

The run tag reaches a remote host through the run's own command (e.g. ``ssh robot
EXPCLEAN_RUN_ID=$EXPCLEAN_RUN_ID ros2 launch ...``); after the run, ``~/teardown``
with that tag stops on each host what carries it there. The ledger's ``cleanup``
field keeps the fields of a single cleanup (summed over hosts) plus ``hosts``: one
entry per node, ``NO ANSWER`` where a node did not answer.
"""

import os
import sys

from expclean_ros.cli.main import CliError
from expclean_ros.cli.memory_format import memory_dict
from expclean_ros.core.runs.run_record import RunRecord

__all__ = ['NO_ANSWER', 'HostsCleanup', 'hosts_cleanup', 'wait_for_nodes', 'unanswered',
           'NoAnswer', 'check_nodes', 'service_cleanup', 'on_finish']

NO_ANSWER = 'NO ANSWER'
#: How long the batch's clients wait for each service before the first run.
PREPARE_S = 10.0


class NoAnswer(CliError):
    """A host did not answer and the batch was told to stop then (``--on-no-answer stop``)."""


def wait_for_nodes(client, prefixes, tries=3, wait_s=10.0):
    """
    Make sure every node answers ``get_memory`` before the first run.

    :raises CliError: naming the nodes that never answered in ``tries`` rounds.
    """
    from expclean_interfaces.srv import GetMemoryUsage

    from expclean_ros.ros.client import ClientError
    missing = list(prefixes)
    for _ in range(tries):
        answers = client.call_many(GetMemoryUsage, [f'{p}/get_memory' for p in missing],
                                   GetMemoryUsage.Request, timeout_s=2.0, wait_s=wait_s)
        errors = {p: answers[f'{p}/get_memory'] for p in missing}
        missing = [p for p, a in errors.items() if isinstance(a, ClientError)]
        if not missing:
            return
    raise CliError(f'--via-service: cleanup node(s) {", ".join(missing)} do not answer: '
                   f'{errors[missing[0]]}')


def _teardown_record(response):
    if response is None:
        return None
    return {'success': bool(response.success), 'message': response.message,
            'stopped': int(response.stopped), 'left': int(response.left),
            'mechanism': response.mechanism,
            'processes': [{'pid': p.pid, 'name': p.name, 'reason': p.reason, 'stage': p.stage}
                          for p in response.processes]}


def _host_record(prefix, torn, cleaned):
    from expclean_ros.cli.node_cleanup import msg_report_record
    from expclean_ros.ros.client import ClientError
    failed = [a for a in (torn, cleaned) if isinstance(a, ClientError)]
    if failed:
        return {'node': prefix, 'status': NO_ANSWER, 'message': str(failed[0]),
                'teardown': None if isinstance(torn, ClientError) else _teardown_record(torn),
                'cleanup': None}
    return {'node': prefix, 'hostname': cleaned.report.memory_after.hostname,
            'status': 'ok' if (torn is None or torn.success) and cleaned.success else 'failed',
            'teardown': _teardown_record(torn), 'cleanup': msg_report_record(cleaned),
            'memory': {'before': memory_dict(cleaned.report.memory_before),
                       'after': memory_dict(cleaned.report.memory_after)}}


def _summary(hosts, plan):
    """Return the single-cleanup fields of the ledger, over every host."""
    done = [h['cleanup'] for h in hosts if h['cleanup'] is not None]
    lost = [h['node'] for h in hosts if h['status'] == NO_ANSWER]
    message = '; '.join(f'{h["node"]}: {h["cleanup"]["message"] if h["cleanup"] else NO_ANSWER}'
                        for h in hosts)
    return {'plan': plan, 'success': not lost and all(c['success'] for c in done),
            'skipped': bool(done) and all(c['skipped'] for c in done), 'message': message,
            'seconds': max((c['seconds'] for c in done), default=0.0),
            'settled': None if not done or any(c['settled'] is None for c in done)
            else all(c['settled'] for c in done),
            'settle_s': max((c['settle_s'] for c in done), default=0.0),
            'steps': done[0]['steps'] if len(done) == 1 else [],
            'processes_stopped': sum(c['processes_stopped'] for c in done) + sum(
                h['teardown']['stopped'] for h in hosts if h['teardown']),
            'processes_left': sum(c['processes_left'] for c in done) + sum(
                h['teardown']['left'] for h in hosts if h['teardown']),
            'hosts': hosts}


def unanswered(record):
    """Return the nodes of a finished run's record (a ledger ``run`` line) that did not answer."""
    cleanup = RunRecord.from_dict(record).cleanup
    hosts = cleanup.hosts if cleanup is not None else None
    return [h.get('node') for h in hosts or () if h.get('status') == NO_ANSWER]


class HostsCleanup:
    """
    The between-runs cleanup on every node at once, and the run's teardown there as an end step.

    Calling it (``cleanup(run_index, total_runs, baseline=None)``) asks ``~/between_runs`` of
    every node; :meth:`teardown_step` (``SequencerOptions.end_steps``) stops the run's tag on
    every node first, through ``~/teardown``, and the next call records what each one stopped.
    ``baseline`` is not sent: memory in use before a run is a figure a service request could
    not prove to a node. Every service client is made at once, before the first run, and reused.
    """

    def __init__(self, client, prefixes, comprehensive, wait_time, timeout_s):
        from expclean_interfaces.srv import CleanupBetweenRuns, Teardown
        self._client, self._prefixes = client, list(prefixes)
        self._comprehensive, self._wait_time, self._timeout_s = (
            comprehensive, wait_time, timeout_s)
        for prefix in self._prefixes:
            client.prepare(Teardown, f'{prefix}/teardown', PREPARE_S)
            client.prepare(CleanupBetweenRuns, f'{prefix}/between_runs', PREPARE_S)
        self._torn = None  # the last teardown step's answers, for the next cleanup's record

    def teardown_step(self, run_id):
        """Return the end step that stops ``run_id`` on every node (after the local teardown)."""
        return _HostsTeardown(self, run_id)

    def _teardown(self, run_id):
        from expclean_interfaces.srv import Teardown
        # caller_pid 0: the node spares no pid of ours (on another host it is another process)
        self._torn = self._client.call_many(
            Teardown, [f'{p}/teardown' for p in self._prefixes],
            lambda: Teardown.Request(run_tag=run_id), timeout_s=self._timeout_s)
        return self._torn

    def __call__(self, run_index, total_runs, baseline=None):
        from expclean_interfaces.srv import CleanupBetweenRuns
        torn, self._torn = self._torn, None
        if torn is None:  # no tag: not asked
            torn = dict.fromkeys((f'{p}/teardown' for p in self._prefixes), None)
        wait = -1.0 if self._wait_time is None else float(self._wait_time)
        cleaned = self._client.call_many(
            CleanupBetweenRuns, [f'{p}/between_runs' for p in self._prefixes],
            lambda: CleanupBetweenRuns.Request(
                run_index=run_index, total_runs=total_runs, comprehensive=self._comprehensive,
                wait_time_s=wait, verbose=False, caller_pid=os.getpid()),
            timeout_s=self._timeout_s)
        hosts = [_host_record(p, torn[f'{p}/teardown'], cleaned[f'{p}/between_runs'])
                 for p in self._prefixes]
        return _summary(hosts, 'comprehensive' if self._comprehensive else 'quick')


class _HostsTeardown:
    """The end step of one run: its tag stopped on every node (see :class:`HostsCleanup`)."""

    name = 'hosts_teardown'

    def __init__(self, hosts, run_id):
        self._hosts, self._run_id = hosts, run_id

    def settle(self):
        from expclean_ros.core.step_result import FAILED, OK, StepResult
        from expclean_ros.ros.client import ClientError
        torn = self._hosts._teardown(self._run_id)
        lost = [name for name, answer in torn.items() if isinstance(answer, ClientError)]
        done = [a for a in torn.values() if not isinstance(a, ClientError)]
        stopped = sum(int(a.stopped) for a in done)
        left = sum(int(a.left) for a in done)
        detail = (f'{len(done)} of {len(torn)} nodes answered: stopped {stopped}, left {left}'
                  + (f'; {NO_ANSWER}: {", ".join(lost)}' if lost else ''))
        ok = not lost and all(a.success for a in done)
        return StepResult(self.name, OK if ok else FAILED, detail,
                          data={'stopped': stopped, 'left': left, 'no_answer': lost})


def hosts_cleanup(client, prefixes, comprehensive, wait_time, timeout_s):
    """Return a sequencer cleanup over every node: a :class:`HostsCleanup`."""
    return HostsCleanup(client, prefixes, comprehensive, wait_time, timeout_s)


def check_nodes(args):
    """Check --node/--all/--expect; leave the full node names in ``args.node``."""
    from expclean_ros.cli.names import DEFAULT_NODE, full_node_name
    if not args.via_service and (args.node or args.all):
        raise CliError('--node and --all name cleanup nodes for --via-service: add it')
    if args.all and args.node:
        raise CliError('give either --all or --node, not both')
    if args.expect < 0 or (args.expect and not args.all):
        raise CliError(f'--expect N goes with --all and N is 0 or more, got {args.expect}')
    nodes = [full_node_name(n) for n in (args.node or [DEFAULT_NODE])]
    if len(set(nodes)) != len(nodes):
        raise CliError(f'--node names a node twice: {", ".join(nodes)}')
    args.node = nodes


def service_cleanup(args, comprehensive):
    """(client, cleanup callable) for --via-service: the named or discovered nodes."""
    from expclean_ros.ros.client import CleanupClient
    client = CleanupClient(name='expclean_run')
    try:
        nodes = args.node
        if args.all:
            nodes = client.find_cleanup_nodes(timeout_s=max(10.0, args.service_timeout / 4),
                                              expect=args.expect)
            if len(nodes) < max(1, args.expect):
                raise CliError(f'--all: {len(nodes)} cleanup nodes found, '
                               f'expected {max(1, args.expect)}')
        wait_for_nodes(client, nodes)
        return client, hosts_cleanup(client, nodes, comprehensive, args.wait,
                                     args.service_timeout)
    except BaseException:
        client.close()
        raise


def on_finish(progress, on_no_answer):
    """``progress.on_finish``, then stop the batch on NO ANSWER if told to."""

    def finished(record, position, count):
        progress.on_finish(record, position, count)
        lost = unanswered(record)
        number = RunRecord.from_dict(record).index + 1
        if lost:
            print(f'run {number}: NO ANSWER from {", ".join(lost)}', file=sys.stderr)
            if on_no_answer == 'stop':
                raise NoAnswer(f'stopped after run {number} (--on-no-answer '
                               f'stop): no answer from {", ".join(lost)}; the ledger has it, '
                               f'--resume goes on')
    return finished
