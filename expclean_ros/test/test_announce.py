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
The cleanup node's Fast DDS profile (ros/announce.py).

It re-announces itself every 0.25 s, only its own participant takes it, and a user's profile or
another RMW wins.
"""

import os
import socket
import time
import xml.etree.ElementTree as ET

import pytest

from helpers.nodes import wait_for

announce = pytest.importorskip('expclean_ros.ros.announce', reason='expclean_ros not installed')


def test_the_profile_says_a_quarter_second_and_is_the_default_participant_profile():
    root = ET.parse(announce.PROFILE).getroot()
    ns = {'d': 'http://www.eprosima.com'}
    participant = root.find('d:profiles/d:participant', ns)
    assert participant.get('is_default_profile') == 'true'
    period = participant.find('d:rtps/d:builtin/d:discovery_config/d:leaseAnnouncement', ns)
    assert (period.find('d:sec', ns).text, period.find('d:nanosec', ns).text) == \
        ('0', '250000000')


@pytest.mark.parametrize('env', [{'FASTDDS_DEFAULT_PROFILES_FILE': '/mine.xml'},
                                 {'FASTRTPS_DEFAULT_PROFILES_FILE': '/mine.xml'},
                                 {'RMW_IMPLEMENTATION': 'rmw_cyclonedds_cpp'}])
def test_a_users_profile_or_another_rmw_is_left_alone(env):
    before = dict(env)
    assert announce.apply(env) is None
    announce.restore(None, env)
    assert env == before


def test_the_variable_is_set_for_the_participant_then_taken_away():
    env = {'RMW_IMPLEMENTATION': 'rmw_fastrtps_cpp'}
    variable = announce.apply(env)
    assert env[variable] == announce.PROFILE and variable == announce.profile_variable()
    announce.restore(variable, env)
    assert env == {'RMW_IMPLEMENTATION': 'rmw_fastrtps_cpp'}


def _rtps_packets(sock, seconds):
    """RTPS datagrams received on ``sock`` during ``seconds``."""
    count, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = sock.recv(65536)
        except socket.timeout:
            break
        count += data[:4] == b'RTPS'
    return count


def test_the_real_node_re_announces_far_more_often_than_fast_dds_default(start_node, tmp_path):
    """
    A UDP socket on the discovery port of participant id 3 gets each re-announcement.

    Nobody holds that id; LOCALHOST makes ids 0-3 the node's initial peers here.

    The node as shipped and one given Fast DDS's default by a profile file of the user
    (3 s) are counted over the same window: at least four times as many.
    """
    pytest.importorskip('rclpy', reason='rclpy (ROS 2 wheels) not installed')
    domain = int(os.environ['ROS_DOMAIN_ID'])
    port = 7400 + 250 * domain + 10 + 2 * 3
    counts = []
    default = tmp_path / 'default.xml'
    default.write_text(open(announce.PROFILE).read().replace(
        '<sec>0</sec>', '<sec>3</sec>').replace('<nanosec>250000000</nanosec>',
                                                '<nanosec>0</nanosec>'))
    from helpers.nodes import ros_env
    for env in (None, ros_env(**{announce.profile_variable(): str(default)})):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(('127.0.0.1', port))
            node = start_node('--ros-args', '-p', 'publish_rate:=0.0', env=env)
            assert wait_for(lambda: 'ready:' in node.log(), 60), node.log()
            _rtps_packets(sock, 2.0)  # the initial announcements
            counts.append(_rtps_packets(sock, 6.0))
            node.close()
    assert counts[0] >= 4 * max(1, counts[1]), counts
