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

"""``expclean run --via-service``: the between-runs cleanup done by a cleanup node."""

__all__ = ['msg_report_record', 'wait_for_node', 'service_cleanup']


def msg_report_record(response):
    """
    Return a CleanupBetweenRuns response as the ledger's ``cleanup`` field.

    (same as in-process).
    """
    from expclean_ros.core.runs.records import cleanup_record
    rep = response.report
    return cleanup_record(
        plan=rep.plan, success=response.success, skipped=response.skipped,
        message=response.message, seconds=rep.duration_s,
        settled=None if response.skipped else rep.settled, settle_s=rep.settle_s,
        steps=[(s.name, s.status, s.detail, s.duration_s) for s in rep.steps],
        processes_stopped=rep.processes_stopped, processes_left=rep.processes_left)


def wait_for_node(client, prefix, tries=3, wait_s=10.0):
    """
    Make sure the node answers before the first run (a first call can be lost in discovery).

    :raises CliError: no answer after ``tries`` calls of ``PREFIX/get_memory``.
    """
    from expclean_ros.cli.hosts import wait_for_nodes
    wait_for_nodes(client, [prefix], tries, wait_s)


def service_cleanup(client, prefix, comprehensive, wait_time, timeout_s):
    """
    Return a sequencer cleanup callable for one node (see :func:`.hosts.hosts_cleanup`).

    ``baseline`` is not sent: the node settles by its window rule, since memory in
    use before a run is a figure a service request could not prove to the node.
    """
    from expclean_ros.cli.hosts import hosts_cleanup
    return hosts_cleanup(client, [prefix], comprehensive, wait_time, timeout_s)
