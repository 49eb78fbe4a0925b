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

"""The cleanup node as its own process over real DDS: services, memory topic, shutdown."""

import os
import signal
import time

import psutil
import pytest

from helpers.nodes import wait_for

rclpy = pytest.importorskip('rclpy', reason='rclpy (ROS 2 wheels) not installed')
from expclean_interfaces.msg import MemoryUsage  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402
from helpers.dds_shm import held_lock_files, stale  # noqa: E402
from expclean_ros.core.units import MIB  # noqa: E402


def test_quick_and_comprehensive_answer_with_one_line(start_node, client):
    start_node()
    for plan in ('quick', 'comprehensive'):
        response = client.call(Trigger, f'/cleanup/{plan}', Trigger.Request(),
                               timeout_s=120, wait_s=20)
        assert response.success, response.message
        assert '\n' not in response.message
        assert response.message.startswith(f'{plan} ok in '), response.message
        assert 'RAM ' in response.message


def test_memory_topic_matches_psutil(start_node, client):
    start_node('--ros-args', '-p', 'publish_rate:=5.0')
    msg = client.wait_for_message(MemoryUsage, '/cleanup/memory', timeout_s=20)
    vm, sw = psutil.virtual_memory(), psutil.swap_memory()
    assert msg.ram_total_bytes == vm.total
    assert msg.swap_total_bytes == sw.total
    # Other processes run meanwhile: within 512 MiB of a reading taken a moment later.
    assert abs(msg.ram_available_bytes - vm.available) < 512 * MIB
    assert abs(msg.ram_used_bytes - (vm.total - vm.available)) < 512 * MIB \
        or abs(msg.ram_used_bytes - vm.used) < 512 * MIB
    assert 0.0 < msg.ram_percent < 100.0
    # No NVIDIA driver on this machine: an empty list with the reason.
    if not msg.gpus:
        assert msg.gpu_status, 'an empty GPU list must say why'


def test_sigint_exits_zero_and_leaves_nothing(start_node, client):
    node = start_node()
    client.call(Trigger, '/cleanup/quick', Trigger.Request(), timeout_s=60, wait_s=20)
    children = psutil.Process(node.pid).children(recursive=True)
    assert node.interrupt(timeout_s=15) == 0, node.log()
    assert 'Traceback' not in node.log()
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]


def _all_threads_asleep(pid):
    states = []
    for tid in os.listdir(f'/proc/{pid}/task'):
        try:
            with open(f'/proc/{pid}/task/{tid}/stat') as f:
                states.append(f.read().rsplit(')', 1)[1].split()[0])
        except OSError:  # a thread that just ended
            continue
    return bool(states) and all(state == 'S' for state in states)


@pytest.mark.parametrize('signum', [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_idle_exits_zero_and_frees_its_shared_memory(start_node, client, signum):
    """
    The node leaves without the interpreter's exit (signals.leave).

    Its DDS participant is closed by then, so none of its shared-memory segments is left behind.
    """
    node = start_node()
    client.call(Trigger, '/cleanup/quick', Trigger.Request(), timeout_s=60, wait_s=20)
    locks = set(held_lock_files(node.pid))
    assert locks, 'the node uses Fast DDS shared memory'
    # idle: every thread asleep (the executor waits in rcl, not in Python)
    assert wait_for(lambda: _all_threads_asleep(node.pid), 60), 'the node never went idle'
    node.popen.send_signal(signum)
    assert wait_for(lambda: node.popen.poll() is not None, 15), 'node did not exit'
    assert node.popen.returncode == 0, node.log()
    assert 'Traceback' not in node.log(), node.log()
    assert not stale(locks), stale(locks)


def test_second_sigint_during_shutdown_still_exits_zero(start_node, client):
    """Under ros2 launch, Ctrl-C reaches a node twice: from the terminal and from launch."""
    for gap_s in (0.0, 0.005, 0.02, 0.05, 0.2, 0.5):
        node = start_node()
        client.call(Trigger, '/cleanup/quick', Trigger.Request(), timeout_s=60, wait_s=20)
        node.popen.send_signal(signal.SIGINT)
        time.sleep(gap_s)
        if node.popen.poll() is None:
            node.popen.send_signal(signal.SIGINT)
        assert wait_for(lambda: node.popen.poll() is not None, 15), 'node did not exit'
        assert node.popen.returncode == 0, node.log()
        assert 'Traceback' not in node.log(), node.log()


def test_shutdown_at_a_high_rate_leaves_no_stray_exception(start_node, client):
    """
    Shut nodes down at a high rate.

    rclpy can run a queued timer callback on a destroyed guard condition at shutdown.
    """
    client.subscribe(MemoryUsage, '/cleanup/memory')  # once, before any node stops
    for _ in range(3):
        node = start_node('--ros-args', '-p', 'publish_rate:=50.0')
        client.wait_for_message(MemoryUsage, '/cleanup/memory', timeout_s=20)
        assert node.interrupt(timeout_s=15) == 0, node.log()
        assert 'never retrieved' not in node.log() and 'Traceback' not in node.log(), node.log()
