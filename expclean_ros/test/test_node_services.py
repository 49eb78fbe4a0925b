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

"""Every service and topic of the real node over real DDS: parameters, busy, bad input."""

import math
import os
import subprocess
import sys
import time

import pytest

from helpers.nodes import (HOOKS_AS_ROOT, alive, held_hook, hook_args, ros_env, serve_node,
                           wait_execed, wait_for)

rclpy = pytest.importorskip('rclpy', reason='rclpy (ROS 2 wheels) not installed')
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus  # noqa: E402
from expclean_interfaces.msg import CleanupReport, MemoryUsage  # noqa: E402
from expclean_interfaces.srv import (CleanupBetweenRuns, GetMemoryUsage,  # noqa: E402
                                     Teardown)
from std_srvs.srv import Trigger  # noqa: E402

from expclean_ros.ros.qos import LATCHED_QOS  # noqa: E402
from expclean_ros.core.runs.tagged_start import new_run_id  # noqa: E402
from helpers.params import _set  # noqa: E402


@pytest.fixture(scope='module')
def _default_node(tmp_path_factory):
    yield from serve_node(tmp_path_factory, '/shared_services')


@pytest.fixture
def shared_node(_default_node):
    """One default node for the tests that only read from it or are refused by it."""
    return alive(_default_node)


def _seconds(msg):
    return msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9


def test_get_memory_answers(shared_node, client):
    response = client.call(GetMemoryUsage, f'{shared_node.name}/get_memory',
                           GetMemoryUsage.Request(), wait_s=20)
    assert response.success, response.message
    assert response.memory.ram_total_bytes > 0
    assert response.message.startswith('RAM ')


def test_report_is_latched_for_a_late_subscriber(start_node, client):
    start_node()
    response = client.call(Trigger, '/cleanup/quick', Trigger.Request(), timeout_s=60, wait_s=20)
    assert response.success, response.message
    report = client.wait_for_message(CleanupReport, '/cleanup/report', timeout_s=10,
                                     qos=LATCHED_QOS)
    assert report.plan == 'quick'
    assert report.message == response.message
    assert [s.name for s in report.steps], 'the report lists its steps'
    assert all(s.status in ('ok', 'skipped', 'failed') for s in report.steps)
    assert report.memory_before.ram_total_bytes > 0 and report.memory_after.ram_total_bytes > 0


def test_diagnostics_switch_level_with_thresholds(start_node, client):
    start_node('--ros-args', '-p', 'diagnostics.rate_hz:=10.0')

    def ram_level():
        msg = client.wait_for_message(DiagnosticArray, '/diagnostics', timeout_s=10)
        return next(s for s in msg.status if s.name.endswith(': RAM'))

    assert ram_level().level == DiagnosticStatus.OK
    assert _set(client, 'ram_warn_percent', 0.0).successful
    assert wait_for(lambda: ram_level().level == DiagnosticStatus.WARN, 60)
    assert _set(client, 'ram_error_percent', 0.0).successful
    status = ram_level()
    assert wait_for(lambda: ram_level().level == DiagnosticStatus.ERROR, 60)
    assert 'RAM' in status.message


def test_invalid_parameters_are_refused_with_the_reason(shared_node, client):
    names = ['ram_warn_percent', 'teardown.run_tag', 'teardown.allow_other_users',
             'publish_rate']
    node = shared_node.name
    before = client.parameters(node, names, wait_s=20)
    result = _set(client, 'ram_warn_percent', 99.5, node)
    assert not result.successful and 'ram_error_percent' in result.reason
    result = _set(client, 'teardown.run_tag', 'not-a-run-tag', node)
    assert not result.successful and 'does not look like a run tag' in result.reason
    result = _set(client, 'teardown.allow_other_users', True, node)
    assert not result.successful and 'read-only' in result.reason
    result = _set(client, 'publish_rate', float('nan'), node)
    assert not result.successful
    # Nothing changed: the node keeps its old values and still serves.
    assert client.parameters(node, names, wait_s=20) == before
    assert client.call(GetMemoryUsage, f'{node}/get_memory', GetMemoryUsage.Request()).success


def test_bad_start_parameters_exit_with_a_clear_error(tmp_path):
    proc = subprocess.run(
        [sys.executable, '-m', 'expclean_ros.ros.node', '--ros-args',
         '-p', 'ram_warn_percent:=99.0', '-p', 'ram_error_percent:=50.0'],
        env=ros_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert 'ram_warn_percent' in proc.stderr and 'Traceback' not in proc.stderr


@pytest.mark.parametrize('index,total,wait,rule', [
    (-1, 5, -1.0, 'run_index'),
    (5, 5, -1.0, 'run_index'),
    (0, 0, -1.0, 'total_runs'),
    (0, 5, math.nan, 'wait'),
    (0, 5, math.inf, 'wait'),
])
def test_between_runs_bad_input_is_refused(shared_node, client, index, total, wait, rule):
    request = CleanupBetweenRuns.Request(run_index=index, total_runs=total, wait_time_s=wait)
    response = client.call(CleanupBetweenRuns, f'{shared_node.name}/between_runs', request,
                           wait_s=20)
    assert not response.success
    assert response.message.startswith('refused:') and rule in response.message


def test_between_runs_cleans_and_skips_after_the_last_run(start_node, client):
    start_node()
    request = CleanupBetweenRuns.Request(run_index=0, total_runs=3, comprehensive=False,
                                         wait_time_s=0.0)
    response = client.call(CleanupBetweenRuns, '/cleanup/between_runs', request, wait_s=20,
                           timeout_s=60)
    assert response.success and not response.skipped, response.message
    assert response.report.plan and response.report.steps
    request.run_index = 2
    response = client.call(CleanupBetweenRuns, '/cleanup/between_runs', request, timeout_s=60)
    assert response.success and response.skipped, response.message


def test_teardown_bad_input_is_refused(shared_node, client):
    for request, rule in (
            (Teardown.Request(), 'no selection'),
            (Teardown.Request(patterns=['ros2 (launch']), 'patterns in a request are off'),
            (Teardown.Request(root_pid=4_000_000, root_start_time=1), '4000000')):
        response = client.call(Teardown, f'{shared_node.name}/teardown', request, wait_s=20)
        assert not response.success
        assert response.message.startswith('refused:') and rule in response.message, \
            response.message


def test_teardown_stops_a_tagged_tree_and_spares_a_decoy(shared_node, client):
    tag = new_run_id()
    sleeper = [sys.executable, '-c', 'import time; time.sleep(60)']
    run = subprocess.Popen(sleeper, env=dict(os.environ, EXPCLEAN_RUN_ID=tag),
                           start_new_session=True, stdin=subprocess.DEVNULL)
    decoy = subprocess.Popen(sleeper, start_new_session=True, stdin=subprocess.DEVNULL)
    try:
        assert wait_execed(run.pid, 'time.sleep(60)'), 'the tagged sleeper never ran'
        dry = client.call(Teardown, f'{shared_node.name}/teardown',
                          Teardown.Request(run_tag=tag, dry_run=True), wait_s=20)
        assert dry.success and [p.pid for p in dry.processes] == [run.pid]
        assert dry.processes[0].stage == 'would_stop' and run.poll() is None
        response = client.call(Teardown, f'{shared_node.name}/teardown',
                               Teardown.Request(run_tag=tag), timeout_s=30)
        assert response.success and response.stopped == 1 and response.left == 0
        assert response.processes[0].stage == 'sigint'
        assert run.wait(5) is not None
        assert decoy.poll() is None
    finally:
        for p in (run, decoy):
            if p.poll() is None:
                p.kill()
            p.wait(5)


def _spin_until(client, done, timeout_s=120.0):
    """Spin ``client`` until ``done()``; the limit only turns a hang into a failure."""
    deadline = time.monotonic() + timeout_s
    while not done() and time.monotonic() < deadline:
        client._executor.spin_once(timeout_sec=0.05)
    return done()


def test_one_cleanup_at_a_time_others_get_busy(start_node, client, tmp_path):
    started, release = tmp_path / 'started', tmp_path / 'release'
    start_node('--ros-args', *hook_args(held_hook(started, release)))
    node = client.node
    clients = [node.create_client(Trigger, '/cleanup/comprehensive') for _ in range(10)]
    assert all(c.wait_for_service(timeout_sec=20) for c in clients)
    futures = [c.call_async(Trigger.Request()) for c in clients]
    # The call that runs holds the node inside its hook until released: every other call
    # must be answered meanwhile, whenever it arrives.
    assert _spin_until(client, lambda: sum(f.done() for f in futures) >= 9 and started.exists())
    assert not all(f.done() for f in futures), [f.result().message for f in futures]
    release.touch()
    assert _spin_until(client, lambda: all(f.done() for f in futures))
    answers = [f.result() for f in futures]
    ran = [a for a in answers if not a.message.startswith('busy:')]
    busy = [a for a in answers if a.message.startswith('busy:')]
    assert len(ran) == 1 and len(busy) == 9, [a.message for a in answers]
    assert ran[0].success, ran[0].message
    assert all(not a.success and 'comprehensive cleanup running for' in a.message for a in busy)


def test_memory_keeps_flowing_during_a_long_cleanup(start_node, client, tmp_path):
    """
    The memory timer is not held up by a cleanup.

    While the node is inside a hook that ends only when the test releases it, 20 messages published
    after the hook began arrive, in order. (The gaps between them, against an idle node's:
    bench_node.py.)
    """
    started, release = tmp_path / 'started', tmp_path / 'release'
    start_node('--ros-args', '-p', 'publish_rate:=10.0', *hook_args(held_hook(started, release)))
    stamps = []
    client.node.create_subscription(MemoryUsage, '/cleanup/memory',
                                    lambda m: stamps.append(_seconds(m)), 100)
    trigger = client.node.create_client(Trigger, '/cleanup/quick')
    assert trigger.wait_for_service(timeout_sec=20)
    future = trigger.call_async(Trigger.Request())
    assert _spin_until(client, started.exists), 'the cleanup never reached its hook'
    began = os.stat(started).st_mtime  # the system clock, which stamps the messages too

    def during():
        return [t for t in stamps if t > began]
    assert _spin_until(client, lambda: len(during()) >= 20 or future.done()), stamps
    assert not future.done(), future.result().message
    got = during()
    release.touch()
    assert _spin_until(client, future.done)
    assert future.result().success, future.result().message
    assert len(got) >= 20, got
    assert all(a < b for a, b in zip(got, got[1:])), f'stamps out of order: {got}'


def test_a_failing_hook_leaves_the_node_serving(start_node, client):
    start_node('--ros-args', '-p', 'hooks.before:=["exit 3"]', *HOOKS_AS_ROOT)
    response = client.call(Trigger, '/cleanup/quick', Trigger.Request(), timeout_s=60, wait_s=20)
    assert not response.success
    assert 'hook' in response.message and 'failed' in response.message, response.message
    response = client.call(GetMemoryUsage, '/cleanup/get_memory', GetMemoryUsage.Request())
    assert response.success


def test_long_waits_are_refused_and_a_running_wait_does_not_delay_shutdown(
        start_node, client, tmp_path):
    started = tmp_path / 'started'
    node = start_node('--ros-args', *hook_args(f'touch {started}'))
    request = CleanupBetweenRuns.Request(run_index=0, total_runs=3, comprehensive=False,
                                         wait_time_s=1e300)
    response = client.call(CleanupBetweenRuns, '/cleanup/between_runs', request, wait_s=20)
    assert not response.success and 'at most 600 s' in response.message, response.message
    assert not started.exists(), 'a refused call ran the cleanup'
    request.wait_time_s = 600.0  # the longest allowed
    waiter = client.node.create_client(CleanupBetweenRuns, '/cleanup/between_runs')
    assert waiter.wait_for_service(timeout_sec=20)
    future = waiter.call_async(request)
    assert _spin_until(client, started.exists), 'the call never began its cleanup'
    busy = client.call(Trigger, '/cleanup/quick', Trigger.Request())
    assert busy.message.startswith('busy: between_runs cleanup running'), busy.message
    assert not future.done()
    # The node ends while its 600 s wait runs: only a wait that ended with it lets it
    # exit (a wait that did not would hold it for ten minutes, past the limit here).
    assert node.interrupt(timeout_s=60) == 0, node.log()


def test_a_skipped_between_runs_keeps_the_last_report(start_node, client):
    start_node()
    assert client.call(Trigger, '/cleanup/quick', Trigger.Request(), wait_s=20).success
    request = CleanupBetweenRuns.Request(run_index=2, total_runs=3)
    response = client.call(CleanupBetweenRuns, '/cleanup/between_runs', request)
    assert response.success and response.skipped
    report = client.wait_for_message(CleanupReport, '/cleanup/report', timeout_s=10,
                                     qos=LATCHED_QOS)
    assert report.plan == 'quick' and report.steps


@pytest.mark.parametrize('param', ['publish_rate:=2', 'publish_rate:=100.0',
                                   'publish_rate:=-1.0', 'hooks.before:=[1, 2]'])
def test_start_parameters_of_the_wrong_type_or_range_exit_with_a_clear_error(param):
    proc = subprocess.run([sys.executable, '-m', 'expclean_ros.ros.node', '--ros-args',
                           '-p', param], env=ros_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.startswith('cleanup_node: error:') and param.split(':=')[0] in proc.stderr
    assert 'Traceback' not in proc.stderr


def test_teardown_spares_the_caller_pid_and_its_ancestors(start_node, client, tmp_path):
    """A remote caller whose command line matches its own pattern is never stopped."""
    start_node('--ros-args', '-p', 'teardown.allow_request_patterns:=true')
    script = tmp_path / 'pattern_caller_abc.py'
    script.write_text('import time\ntime.sleep(60)\n')
    procs = [subprocess.Popen([sys.executable, str(script)], stdin=subprocess.DEVNULL,
                              start_new_session=True) for _ in range(2)]
    caller, victim = procs
    try:
        for p in procs:
            assert wait_execed(p.pid, 'pattern_caller_abc'), f'{p.pid} never ran'
        response = client.call(Teardown, '/cleanup/teardown', Teardown.Request(
            patterns=['pattern_caller_abc'], caller_pid=caller.pid), wait_s=20, timeout_s=30)
        assert response.success, response.message
        assert [p.pid for p in response.processes] == [victim.pid]
        assert victim.wait(5) is not None and caller.poll() is None
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait(5)
