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
Long-lived clients make their DDS entities once and keep them while cleanup nodes come and go.

Fast DDS 3.2 can hang a participant that creates or deletes an entity while a peer it has
matched leaves (eProsima/Fast-DDS#6502): a client watching nodes start and stop must not.
"""

import asyncio
import os
import signal
import time

import pytest

from helpers.nodes import ros_env, wait_for
from helpers.launching import needs_launch

rclpy = pytest.importorskip('rclpy', reason='rclpy (ROS 2 wheels) not installed')
from expclean_interfaces.msg import CleanupReport, MemoryUsage  # noqa: E402
from expclean_interfaces.srv import GetMemoryUsage  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402

from expclean_ros.cli.node_cleanup import service_cleanup, wait_for_node  # noqa: E402
from expclean_ros.ros.client import LATCHED_QOS  # noqa: E402

ROUNDS = 4
# A killed participant stays on the graph for its lease (Fast DDS: 20 s): 2 s for these nodes.
SHORT_LEASE = """<?xml version="1.0" encoding="UTF-8"?>
<profiles xmlns="http://www.eprosima.com">
  <participant profile_name="short_lease" is_default_profile="true">
    <rtps><builtin><discovery_config>
      <leaseDuration><sec>2</sec></leaseDuration>
      <leaseAnnouncement><sec>0</sec><nanosec>500000000</nanosec></leaseAnnouncement>
    </discovery_config></builtin></rtps>
  </participant>
</profiles>
"""


def entities(client):
    """Return the client node's subscriptions and service clients, as rclpy holds them."""
    return list(client.node.subscriptions), list(client.node.clients)


def stamp_s(msg):
    return msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9


def stop(node, how):
    if how == 'sigint':
        assert node.interrupt(timeout_s=30) == 0, node.log()
    else:
        node.popen.send_signal(signal.SIGKILL)  # our own child, by pid
        node.popen.wait(30)


def come_and_go(start_node, client):
    """Start another node (an experiment's peer), see it on the graph, stop it."""
    other = start_node('--ros-args', '-r', '__ns:=/experiment', '-p', 'publish_rate:=0.0')
    # This round's node, by its own log: the graph can still list the last round's node of
    # the same name, and a SIGINT before the new one is up would kill it half started.
    assert wait_for(lambda: 'ready: /experiment/cleanup/' in other.log(), 60), other.log()
    assert wait_for(lambda: ('cleanup', '/experiment') in
                    client.node.get_node_names_and_namespaces(), 60)
    stop(other, 'sigint')


@pytest.mark.parametrize('how', ['sigint', 'sigkill'])
def test_entities_stay_the_same_while_nodes_come_and_go(start_node, client, tmp_path, how):
    """
    Made up front, before any node.

    One subscription and one service client, the same objects after every round; each round's
    messages come from that round's node.
    """
    profile = tmp_path / 'short_lease.xml'
    profile.write_text(SHORT_LEASE)
    # Fast DDS 3 reads the first (and warns that it reads the second too), 2.x the second
    env = ros_env(FASTDDS_DEFAULT_PROFILES_FILE=profile, FASTRTPS_DEFAULT_PROFILES_FILE=profile)
    client.subscribe(MemoryUsage, '/cleanup/memory')
    assert not client.prepare(GetMemoryUsage, '/cleanup/get_memory', 0.0)  # no node yet
    made = entities(client)
    assert [len(e) for e in made] == [1, 1]
    gone_at = 0.0  # wall clock after the previous node exited: its messages are older
    for _ in range(ROUNDS):
        node = start_node('--ros-args', '-p', 'publish_rate:=20.0', env=env)
        msg = client.wait_for_message(MemoryUsage, '/cleanup/memory', timeout_s=60)
        assert stamp_s(msg) > gone_at, 'a message of the node stopped before this round'
        window = client.collect(MemoryUsage, '/cleanup/memory', duration_s=1.0)
        assert window, 'messages at 20 Hz during a 1 s window'
        assert all(stamp_s(m) > gone_at for _, m in window)
        response = client.call(GetMemoryUsage, '/cleanup/get_memory', GetMemoryUsage.Request(),
                               timeout_s=60, wait_s=60)
        assert response.success, response.message
        assert entities(client) == made, 'an entity was made or destroyed during the round'
        time.sleep(0.5)  # messages pile up in the subscription while nobody spins
        stop(node, how)
        gone_at = time.time()
        assert entities(client) == made
    # The client's close deletes its entities: only once the killed nodes' leases are over
    # and the graph has dropped them, so that no peer leaves meanwhile.
    assert wait_for(lambda: ('cleanup', '/') not in client.node.get_node_names_and_namespaces(),
                    60), 'the stopped nodes stay on the graph'


def test_a_latched_wait_returns_the_latest_report_held(start_node, client):
    """On a transient-local topic the reused subscription answers with the latest sample."""
    client.subscribe(CleanupReport, '/cleanup/report', LATCHED_QOS)
    start_node('--ros-args', '-p', 'publish_rate:=0.0')
    made = entities(client)
    for plan in ('quick', 'comprehensive'):
        response = client.call(Trigger, f'/cleanup/{plan}', Trigger.Request(),
                               timeout_s=120, wait_s=60)
        assert response.success, response.message
        assert wait_for(lambda: client.wait_for_message(
            CleanupReport, '/cleanup/report', qos=LATCHED_QOS, timeout_s=30).plan == plan, 30)
        # held: asked again, the same report comes back without a new message
        assert client.wait_for_message(CleanupReport, '/cleanup/report', qos=LATCHED_QOS,
                                       timeout_s=0.0).message == response.message
    assert [len(e) for e in entities(client)] == [1, 2]
    assert entities(client)[0] == made[0]


def test_via_service_makes_its_client_before_the_first_run(start_node, client):
    """
    ``expclean run --via-service``.

    The batch's between_runs client exists before the first run and serves every run, while other
    nodes of the runs start and stop.
    """
    start_node('--ros-args', '-p', 'publish_rate:=0.0')
    wait_for_node(client, '/cleanup', wait_s=60)
    cleanup = service_cleanup(client, '/cleanup', False, 0.0, 120.0)
    made = entities(client)
    services = sorted(c.srv_name for c in made[1])
    assert services == ['/cleanup/between_runs', '/cleanup/get_memory', '/cleanup/teardown']
    for index in range(3):
        come_and_go(start_node, client)
        record = cleanup(index, 3)
        assert record['success'], record['message']
        assert entities(client) == made


@pytest.mark.launch
@needs_launch
def test_the_launch_side_call_makes_its_client_before_it_is_needed(start_node, client):
    """
    A PreparedCall's service client is on the graph before the cleanup node exists.

    After other nodes came and went it still calls the node with that same client.
    """
    from expclean_ros.launch_actions.prepared_call import PreparedCall
    prepared = PreparedCall('/cleanup', 'quick', 120.0)
    try:
        prepared.made().result(timeout=60)

        def call_clients():
            return sorted(
                name for node, ns in client.node.get_node_names_and_namespaces()
                if node.startswith('expclean_launch_') and node.endswith(f'_{os.getpid()}')
                for name, _ in client.node.get_client_names_and_types_by_node(node, ns))
        assert wait_for(lambda: call_clients() == ['/cleanup/quick'], 60), call_clients()
        for _ in range(2):
            come_and_go(start_node, client)
        start_node('--ros-args', '-p', 'publish_rate:=0.0')
        ok, message = asyncio.run(prepared.call())
        assert ok, message
        assert call_clients() == ['/cleanup/quick']
    finally:
        prepared.close().result(timeout=60)
