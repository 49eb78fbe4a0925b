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
The node's ``~/quick`` names the RAM grown since its previous cleanup, and who grew.

The node tells no run apart: its verdict stays the ``/dev/shm`` one (back), and the
process of another user that grew 1 GiB since is named after it.
"""

import pytest

pytest.importorskip('rclpy', reason='rclpy (ROS 2 wheels) not installed')
from std_srvs.srv import Trigger  # noqa: E402

from helpers.foreign import GROWER, OTHER, grow, other_user, stop  # noqa: E402
from helpers.nodes import ros_env  # noqa: E402


def test_quick_names_a_process_that_grew_since_the_previous_cleanup(
        start_node, client, tmp_path):
    root = tmp_path / 'shm'
    root.mkdir()
    start_node(env=ros_env(EXPCLEAN_SHM_ROOT=str(root)))
    grower = other_user(GROWER, '1024')
    try:
        first = client.call(Trigger, '/cleanup/quick', Trigger.Request(), timeout_s=60,
                            wait_s=30)
        assert first.success, first.message
        grow(grower)
        response = client.call(Trigger, '/cleanup/quick', Trigger.Request(), timeout_s=60)
    finally:
        stop([grower])
    assert response.success, response.message
    assert 'back at the level at the previous cleanup; RAM +' in response.message
    assert ' since the previous cleanup: ' in response.message
    assert f'foreign-grower (pid {grower.pid}, user {OTHER}) +1' in response.message
