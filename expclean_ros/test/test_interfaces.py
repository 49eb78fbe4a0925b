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

"""The interfaces as ROS users expect: headers, constants equal to the values sent, diagnostics."""

import socket
import time

import pytest

from helpers import proctree
from helpers.nodes import wait_for

rclpy = pytest.importorskip('rclpy', reason='rclpy (ROS 2 wheels) not installed')
from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from expclean_interfaces.msg import (CleanupReport, MemoryUsage, ProcessInfo,  # noqa: E402
                                     StepResult)
from expclean_interfaces.srv import CleanupBetweenRuns, Teardown  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402

from expclean_ros.ros.qos import LATCHED_QOS  # noqa: E402
from expclean_ros.core.memory import gpu  # noqa: E402
from expclean_ros.core import step_result as results  # noqa: E402
from expclean_ros.core.cleanup import plans  # noqa: E402
from expclean_ros.core.procs import outcome, selection  # noqa: E402
from expclean_ros.core.runs.tagged_start import new_run_id  # noqa: E402


def constants(cls, prefix):
    """Return the values of ``cls``'s constants named ``PREFIX...``."""
    return {getattr(cls, name) for name in dir(cls) if name.startswith(prefix)}


def test_constants_are_the_cores_values():
    assert constants(StepResult, 'STATUS_') == {results.OK, results.SKIPPED, results.FAILED}
    assert constants(CleanupReport, 'PLAN_') == set(plans.PLANS)
    assert constants(ProcessInfo, 'STAGE_') == set(outcome.STAGES)
    assert constants(MemoryUsage, 'GPU_STATUS_') == {gpu.GPU_STATUS_OK}
    every = selection.Selection(tag='run-' + '0' * 32, root_pid=12345, patterns=('x',),
                                cgroup='/sys/fs/cgroup/none')
    assert constants(Teardown.Response, 'MECHANISM_') == set(every.mechanism.split('+'))


def test_values_sent_are_constants_and_headers_use_the_nodes_clock(start_node, client):
    started = time.time()
    start_node('--ros-args', '-p', 'publish_rate:=5.0')
    msg = client.wait_for_message(MemoryUsage, '/cleanup/memory', timeout_s=20)
    received = time.time()
    assert msg.header.frame_id == ''
    stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
    # the node clock is the system clock here: the reading lies between the node's start
    # and its arrival, on this clock
    assert started <= stamp <= received, (started, stamp, received)
    plans_sent, statuses = set(), set()
    for plan in ('quick', 'comprehensive'):
        response = client.call(Trigger, f'/cleanup/{plan}', Trigger.Request(),
                               timeout_s=120, wait_s=20)
        assert response.success, response.message

        def latest():  # the latest report held, once this plan's has arrived
            return client.wait_for_message(CleanupReport, '/cleanup/report', qos=LATCHED_QOS)
        assert wait_for(lambda: latest().message == response.message, 30), latest().message
        report = latest()
        plans_sent.add(report.plan)
        statuses |= {s.status for s in report.steps}
        assert report.header.frame_id == '' and report.header.stamp.sec > 0
        assert report.memory_before.header.stamp.sec <= report.header.stamp.sec
    response = client.call(CleanupBetweenRuns, '/cleanup/between_runs', CleanupBetweenRuns.Request(
        run_index=0, total_runs=2, comprehensive=False, wait_time_s=0.0), timeout_s=120)
    plans_sent.add(response.report.plan)
    assert plans_sent == constants(CleanupReport, 'PLAN_')
    assert statuses <= constants(StepResult, 'STATUS_') and 'ok' in statuses

    tag = new_run_id()
    scene = proctree.start_scene(args=('scene', '--no-node'),
                                 env=proctree.scene_env(EXPCLEAN_RUN_ID=tag))
    try:
        dry = client.call(Teardown, '/cleanup/teardown',
                          Teardown.Request(run_tag=tag, dry_run=True), timeout_s=60)
        done = client.call(Teardown, '/cleanup/teardown', Teardown.Request(run_tag=tag),
                           timeout_s=60)
    finally:
        scene.kill_all()
    stages = {p.stage for p in dry.processes} | {p.stage for p in done.processes}
    assert stages == {'would_stop', 'sigint', 'sigterm', 'sigkill'}, done.message
    assert stages <= constants(ProcessInfo, 'STAGE_')
    assert set(done.mechanism.split('+')) <= constants(Teardown.Response, 'MECHANISM_')


def test_diagnostics_have_their_own_rate_and_are_keyed_like_diagnostic_updater(
        start_node, client):
    start_node('--ros-args', '-r', '__ns:=/robot1', '-p', 'publish_rate:=0.0',
               '-p', 'diagnostics.rate_hz:=5.0', '-p', 'diagnostics.window:=3')
    received = []
    client.node.create_subscription(DiagnosticArray, '/diagnostics', received.append, 100)
    # diagnostics flow while ~/memory is off (the limit only turns a hang into a failure)
    assert wait_for(lambda: client.spin_for(0.05) or len(received) >= 8, 60), received
    stamps = [m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for m in received]
    assert all(a < b for a, b in zip(stamps, stamps[1:])), stamps
    msg = received[-1]
    names = [s.name for s in msg.status]
    assert names[:2] == ['cleanup: RAM', 'cleanup: swap'], names
    assert len(set(names)) == len(names), 'one status per resource'
    assert all(s.hardware_id == socket.gethostname() for s in msg.status)
    keys = {kv.key for kv in msg.status[0].values}
    assert {'used_bytes', 'total_bytes', 'percent'} <= keys
    assert not client.collect(MemoryUsage, '/robot1/cleanup/memory', duration_s=1.0)
    assert wait_for(lambda: client.node.count_publishers('/diagnostics') >= 1, 60)
