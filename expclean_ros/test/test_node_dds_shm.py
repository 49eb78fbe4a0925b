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

"""The node frees what SIGKILLed nodes left in /dev/shm, says so, and shows it on ~/memory."""

import os
import signal

import pytest


pytest.importorskip('rclpy', reason='rclpy (ROS 2 wheels) not installed')
from expclean_interfaces.srv import GetMemoryUsage, Teardown  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402
from helpers.nodes import start_ticks  # noqa: E402
from helpers.dds_shm import PubSubNodes, group_files, stale  # noqa: E402


@pytest.fixture
def pubsub(tmp_path):
    group = PubSubNodes(tmp_path)
    yield group
    group.close()


def test_comprehensive_frees_stale_segments_and_says_so(start_node, client, pubsub):
    start_node()
    pubsub.start('shm_a')
    pubsub.start('shm_b')
    assert pubsub.wait_talking(['shm_a', 'shm_b'])
    ours = pubsub.lock_files('shm_a') | pubsub.lock_files('shm_b')
    files = group_files(ours)
    assert files, 'the pair uses shared memory'
    memory = client.call(GetMemoryUsage, '/cleanup/get_memory', GetMemoryUsage.Request(),
                         wait_s=20).memory
    assert client.prepare(Trigger, '/cleanup/comprehensive', 20)  # before the pair is killed
    assert memory.dds_shm_files >= len(files) and memory.dds_shm_bytes > 0
    pubsub.kill('shm_a')
    pubsub.kill('shm_b')
    response = client.call(Trigger, '/cleanup/comprehensive', Trigger.Request(), timeout_s=120)
    assert response.success, response.message
    assert 'DDS shm freed' in response.message, response.message
    assert not stale(ours), 'stale segments of the killed pair are gone'


def test_teardown_cleans_shared_memory_after_sigkill(start_node, client, pubsub, tmp_path):
    """A node that ignores SIGINT and SIGTERM is SIGKILLed; its segments go with it."""
    start_node()
    pubsub.start('stubborn_a')
    pubsub.start('stubborn_b')
    assert pubsub.wait_talking(['stubborn_a', 'stubborn_b'])
    ours = pubsub.lock_files('stubborn_a') | pubsub.lock_files('stubborn_b')
    pids = [pubsub.procs[n].pid for n in ('stubborn_a', 'stubborn_b')]
    for pid in pids:  # make them ignore SIGINT/SIGTERM the hard way: stop them
        os.kill(pid, signal.SIGSTOP)
    messages = []
    for pid in pids:
        response = client.call(Teardown, '/cleanup/teardown',
                               Teardown.Request(root_pid=pid, root_start_time=start_ticks(pid),
                                                sigint_timeout_s=0.2,
                                                sigterm_timeout_s=0.2), timeout_s=60)
        assert response.success, response.message
        assert response.processes[0].stage == 'sigkill'
        assert ', dds_shm freed ' in response.message, response.message
        messages.append(response.message)
    assert not stale(ours), (stale(ours), messages)
