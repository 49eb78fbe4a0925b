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

"""A burst of callers: every one is answered, at once, while a cleanup runs."""

import time

import pytest

from helpers.nodes import hook_args

rclpy = pytest.importorskip('rclpy', reason='rclpy (ROS 2 wheels) not installed')
from expclean_interfaces.srv import CleanupBetweenRuns, GetMemoryUsage  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402

from expclean_ros.ros.qos import SERVICE_QOS  # noqa: E402

CALLERS = 100


def _spin_until(client, done, timeout_s=120.0):
    """Spin until ``done()``; the limit only turns a hang into a failure."""
    deadline = time.monotonic() + timeout_s
    while not done() and time.monotonic() < deadline:
        client._executor.spin_once(timeout_sec=0.05)
    return done()


def test_100_callers_get_100_answers_while_a_cleanup_runs(start_node, client, tmp_path):
    started = tmp_path / 'started'
    start_node('--ros-args', '-p', 'publish_rate:=0.0', *hook_args(f'touch {started}'))
    node = client.node
    long_call = node.create_client(CleanupBetweenRuns, '/cleanup/between_runs')
    # Clients in one process share their replies' topic: each needs the deeper queue too
    # (with the default depth of 10, about a third of the replies were dropped here).
    quick = [node.create_client(Trigger, '/cleanup/quick', qos_profile=SERVICE_QOS)
             for _ in range(CALLERS)]
    memory = [node.create_client(GetMemoryUsage, '/cleanup/get_memory', qos_profile=SERVICE_QOS)
              for _ in range(CALLERS)]
    for c in [long_call, *quick, *memory]:
        assert c.wait_for_service(timeout_sec=30)
    # A quick cleanup with the original script's fixed wait, the longest allowed (600 s): the
    # node is busy throughout, from its hook on.
    running = long_call.call_async(CleanupBetweenRuns.Request(
        run_index=0, total_runs=2, comprehensive=False, wait_time_s=600.0))
    assert _spin_until(client, started.exists), 'the long call never began'
    busy_first = quick[0].call_async(Trigger.Request())
    assert _spin_until(client, busy_first.done)
    assert busy_first.result().message.startswith('busy:'), busy_first.result().message
    futures = [c.call_async(Trigger.Request()) for c in quick[1:]]
    futures += [c.call_async(GetMemoryUsage.Request()) for c in memory]
    _spin_until(client, lambda: all(f.done() for f in futures) or running.done())
    answered = [f.result() for f in futures if f.done()]
    assert len(answered) == 2 * CALLERS - 1, (
        f'{len(answered)} of {2 * CALLERS - 1} answered: '
        f'{sum(f.done() for f in futures[:CALLERS - 1])} quick')
    busy = answered[:CALLERS - 1]
    assert all(not a.success and a.message.startswith('busy: between_runs cleanup running for ')
               and a.message.endswith(' s') for a in busy), {a.message for a in busy}
    assert all(a.success and a.memory.ram_total_bytes > 0 for a in answered[CALLERS - 1:])
    assert not running.done(), 'the cleanup ended before every caller was answered'
