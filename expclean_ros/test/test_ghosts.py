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
No ghost nodes: after a run's node is SIGKILLed, the real ROS 2 daemon (ros2cli) still lists it.

``expclean run`` restarts that daemon through ros2cli's API, so ``ros2 node list`` shows live nodes
only. ``--keep-daemon`` leaves the daemon (and the ghost) as they are.
"""

import json
import os
import subprocess
import sys

import pytest

from helpers import rosproc
from helpers.nodes import ros_env, wait_for
from helpers.shmscene import token

pytestmark = pytest.mark.skipif(bool(rosproc.missing_reason()),
                                reason=rosproc.missing_reason() or 'ros2cli present')
CLI = [sys.executable, '-c', 'import sys; from expclean_ros.cli import main; sys.exit(main())']
# An rclpy node that says it is up, waits for a file, then dies as a crash does.
NODE = '''
import os, signal, sys, time
import rclpy
rclpy.init()
node = rclpy.create_node(sys.argv[1])
open(sys.argv[2], 'w').close()
while not os.path.exists(sys.argv[3]):
    rclpy.spin_once(node, timeout_sec=0.05)
os.kill(os.getpid(), signal.SIGKILL)
'''


def node_list():
    done = subprocess.run([rosproc.ros2(), 'node', 'list'], env=ros_env(), capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)
    return set(done.stdout.split())


@pytest.fixture
def daemon():
    """Return the ROS 2 daemon of this test's own domain, stopped (ros2cli's API) at the end."""
    subprocess.run([rosproc.ros2(), 'daemon', 'start'], env=ros_env(), capture_output=True,
                   timeout=60, stdin=subprocess.DEVNULL)
    yield
    rosproc.stop_daemon(ros_env())


@pytest.mark.parametrize('keep', [False, True])
def test_a_killed_runs_node_is_not_listed_after_the_cleanup(tmp_path, start_node, daemon, keep):
    live = start_node('--ros-args', '-p', 'publish_rate:=0.0')
    assert wait_for(lambda: '/cleanup' in node_list(), 60), live.log()
    name = f'ghost_{token()}'
    (tmp_path / 'runs.csv').write_text('x\n1\n')
    up, go = tmp_path / 'up', tmp_path / 'go'
    log = open(tmp_path / 'runner.log', 'wb')
    runner = subprocess.Popen(
        [*CLI, 'run', str(tmp_path / 'runs.csv'), '--ledger', str(tmp_path / 'l.jsonl'),
         '--no-cleanup', '--stop-timeouts', '1,1,1', *(['--keep-daemon'] if keep else []),
         '--', sys.executable, '-c', NODE, name, str(up), str(go)],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=ros_env(),
        start_new_session=True)
    try:
        assert wait_for(up.exists, 60), (tmp_path / 'runner.log').read_text()
        assert wait_for(lambda: f'/{name}' in node_list(), 60)
        go.touch()  # the crash
        assert runner.wait(120) == 3, (tmp_path / 'runner.log').read_text()
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, 9)  # our own session
            runner.wait(10)
        log.close()
    record = [json.loads(x) for x in open(tmp_path / 'l.jsonl') if '"type": "run"' in x][0]
    if keep:
        assert record['ros2_daemon'] is None
        assert f'/{name}' in node_list()  # the daemon still lists the dead node: a ghost
        return
    step = record['ros2_daemon']
    assert step['status'] == 'ok' and step['data']['restarted'], step
    # the run's node first (the daemon names nodes only: the live /cleanup may follow it)
    assert step['data']['ghosts'][0] == f'/{name}', step
    assert wait_for(lambda: '/cleanup' in node_list(), 60)  # a fresh daemon: live nodes
    assert f'/{name}' not in node_list()
    assert record['ros_log_dir'].startswith(str(tmp_path))  # beside the ledger
    assert os.listdir(record['ros_log_dir']), 'the run node wrote its ROS log there'


# A run's node that leaves a torch file of its own pid in the node's /dev/shm, then waits.
RUN_NODE = '''
import os, sys, time
import rclpy
rclpy.init()
node = rclpy.create_node(sys.argv[1])
with open(os.path.join(sys.argv[3], 'torch_%d_1_0' % os.getpid()), 'wb') as f:
    f.write(bytes(1 << 20))
open(sys.argv[2], 'w').close()
while True:
    rclpy.spin_once(node, timeout_sec=0.05)
'''


def test_a_peers_teardown_of_a_run_frees_its_shm_and_restarts_the_daemon(
        tmp_path, start_node, daemon, client):
    from expclean_interfaces.srv import Teardown

    from expclean_ros.core.runs.tagged_start import new_run_id
    root = tmp_path / 'shm'
    root.mkdir()
    live = start_node('--ros-args', '-p', 'publish_rate:=0.0',
                      env=ros_env(EXPCLEAN_SHM_ROOT=str(root)))
    assert wait_for(lambda: '/cleanup' in node_list(), 60), live.log()
    name, tag, up = f'ghost_{token()}', new_run_id(), tmp_path / 'up'
    run = subprocess.Popen([sys.executable, '-c', RUN_NODE, name, str(up), str(root)],
                           env=ros_env(EXPCLEAN_RUN_ID=tag), stdin=subprocess.DEVNULL)
    try:
        assert wait_for(up.exists, 60)
        assert wait_for(lambda: f'/{name}' in node_list(), 60)
        dry = client.call(Teardown, '/cleanup/teardown', Teardown.Request(
            run_tag=tag, dry_run=True), timeout_s=60)
        assert dry.success and 'run_shm' not in dry.message and run.poll() is None
        done = client.call(Teardown, '/cleanup/teardown', Teardown.Request(
            run_tag=tag, sigint_timeout_s=0.5, sigterm_timeout_s=0.5), timeout_s=90)
        assert done.success and done.stopped == 1, done.message
        assert run.wait(10) is not None
    finally:
        if run.poll() is None:
            run.kill()  # our own child
            run.wait(10)
    assert os.listdir(root) == [], 'the torch file of the stopped run stays'
    assert 'run_shm freed 1 files, 1.0 MiB (1 torch_*)' in done.message, done.message
    assert 'ros2_daemon restarted the ROS 2 daemon' in done.message, done.message
    assert wait_for(lambda: '/cleanup' in node_list(), 60)  # a fresh daemon: live nodes
    assert f'/{name}' not in node_list()
    # A teardown that stops nothing leaves the daemon as it is.
    nothing = client.call(Teardown, '/cleanup/teardown', Teardown.Request(
        run_tag=new_run_id()), timeout_s=60)
    assert nothing.success and nothing.stopped == 0 and 'ros2_daemon' not in nothing.message
    # A peer may switch the restart off with `ros2 param set` (ghosts then stay listed for
    # the DDS lease, nothing more), and nothing but a boolean.

    def param_set(value):
        return subprocess.run([rosproc.ros2(), 'param', 'set', '/cleanup', 'restart_daemon',
                               value], env=ros_env(), capture_output=True, text=True,
                              timeout=60, stdin=subprocess.DEVNULL)
    refused = param_set('maybe')
    assert 'Setting parameter failed' in refused.stdout + refused.stderr, refused
    assert 'successful' in param_set('false').stdout
    tag = new_run_id()
    run = subprocess.Popen([sys.executable, '-c', RUN_NODE, name, str(up) + '2', str(root)],
                           env=ros_env(EXPCLEAN_RUN_ID=tag), stdin=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: os.path.exists(str(up) + '2'), 60)
        kept = client.call(Teardown, '/cleanup/teardown', Teardown.Request(
            run_tag=tag, sigint_timeout_s=0.5, sigterm_timeout_s=0.5), timeout_s=90)
        assert kept.success and kept.stopped == 1, kept.message
        assert 'run_shm freed 1 files' in kept.message and 'ros2_daemon' not in kept.message
    finally:
        if run.poll() is None:
            run.kill()  # our own child
        run.wait(10)
