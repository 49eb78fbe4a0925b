"""``expclean run --via-service``: the between-runs cleanup done by a cleanup node."""

import os

from expclean_ros.cli.main import CliError

__all__ = ['msg_report_record', 'wait_for_node', 'service_cleanup']

#: How long the batch's between_runs client waits for the service before the first run.
PREPARE_S = 10.0


def msg_report_record(response):
    """A CleanupBetweenRuns response as the ledger's ``cleanup`` field (same as in-process)."""
    rep = response.report
    return {'plan': rep.plan, 'success': bool(response.success),
            'skipped': bool(response.skipped), 'message': response.message,
            'seconds': float(rep.duration_s),
            'settled': None if response.skipped else bool(rep.settled),
            'settle_s': float(rep.settle_s),
            'steps': [{'name': s.name, 'status': s.status, 'detail': s.detail,
                       'seconds': float(s.duration_s)} for s in rep.steps],
            'processes_stopped': int(rep.processes_stopped),
            'processes_left': int(rep.processes_left)}


def wait_for_node(client, prefix, tries=3, wait_s=10.0):
    """Make sure the node answers before the first run (a first call can be lost in discovery).

    :raises CliError: no answer after ``tries`` calls of ``PREFIX/get_memory``.
    """
    from expclean_interfaces.srv import GetMemoryUsage

    from expclean_ros.ros.client import ClientError
    error = None
    for _ in range(tries):
        try:
            client.call(GetMemoryUsage, f'{prefix}/get_memory', GetMemoryUsage.Request(),
                        timeout_s=2.0, wait_s=wait_s)
            return
        except ClientError as exc:
            error = exc
    raise CliError(f'--via-service: the cleanup node does not answer: {error}')


def service_cleanup(client, prefix, comprehensive, wait_time, timeout_s):
    """A sequencer cleanup callable calling ``PREFIX/between_runs`` on a node.

    The service client is made now, before the first run, and every call of the
    batch reuses it: no entity is created while the runs' nodes come and go.
    ``baseline`` is not sent: the node settles by its window rule, since memory in
    use before a run is a figure a service request could not prove to the node.
    """
    from expclean_interfaces.srv import CleanupBetweenRuns

    from expclean_ros.ros.client import ClientError
    service = f'{prefix}/between_runs'
    client.prepare(CleanupBetweenRuns, service, PREPARE_S)  # a miss: the first call waits

    def cleanup(run_index, total_runs, baseline=None):
        request = CleanupBetweenRuns.Request(
            run_index=run_index, total_runs=total_runs, comprehensive=comprehensive,
            wait_time_s=-1.0 if wait_time is None else float(wait_time), verbose=False,
            caller_pid=os.getpid())
        try:
            response = client.call(CleanupBetweenRuns, service, request, timeout_s=timeout_s)
        except ClientError as exc:  # one unanswered call is recorded, the batch goes on
            return {'plan': 'comprehensive' if comprehensive else 'quick', 'success': False,
                    'skipped': False, 'message': f'error: {exc}', 'seconds': 0.0,
                    'settled': None, 'settle_s': 0.0, 'steps': [], 'processes_stopped': 0,
                    'processes_left': 0}
        return msg_report_record(response)
    return cleanup
