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
A peer's ~/quick removes only /dev/shm files whose creator is provably gone.

And says what keeps /dev/shm above its level at the node's previous cleanup (with who holds it).

The node looks at a directory of this test (``EXPCLEAN_SHM_ROOT``), never at the
machine's /dev/shm, where other programs' files live.
"""

import os
import subprocess

import pytest

pytest.importorskip('rclpy', reason='rclpy (ROS 2 wheels) not installed')
from expclean_interfaces.msg import CleanupReport  # noqa: E402
from expclean_interfaces.srv import CleanupBetweenRuns  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402

from helpers.nodes import ros_env  # noqa: E402
from helpers.shmscene import Proc, token, write  # noqa: E402
from expclean_ros.core.units import MIB  # noqa: E402


def test_a_peers_quick_frees_only_the_provably_stale_and_reports_growth(
        start_node, client, made, tmp_path):
    paths, procs = made
    root = tmp_path / 'shm'
    root.mkdir()
    start_node(env=ros_env(EXPCLEAN_SHM_ROOT=str(root)))
    first = client.call(Trigger, '/cleanup/quick', Trigger.Request(), timeout_s=60, wait_s=30)
    assert first.success and "back at the level at the node's start" in first.message
    gone = subprocess.Popen(['true'])
    gone.wait()
    stale = write(f'{root}/torch_{gone.pid}_1_0', 4 * MIB)
    alive = Proc('/dev/null', 'open')
    procs.append(alive)
    creator_alive = write(f'{root}/torch_{alive.pid}_2_0')
    held = write(f'{root}/psm_{token()}', 48 * MIB)
    unknown = write(f'{root}/psm_{token()}')
    paths += [stale, creator_alive, held, unknown]
    holder = Proc(held, 'open')
    procs.append(holder)

    response = client.call(Trigger, '/cleanup/quick', Trigger.Request(), timeout_s=60)
    assert response.success, response.message  # it ran; whether memory is back is said apart
    assert not os.path.exists(stale)
    for path in (creator_alive, held, unknown):
        assert os.path.exists(path), path
    assert '/dev/shm freed 1 files 4.0 MiB' in response.message, response.message
    assert 'not back: /dev/shm +48.' in response.message
    assert 'above the level at the previous cleanup' in response.message
    assert f'held by pid {holder.pid} (' in response.message

    reports = client.collect(CleanupReport, '/cleanup/report', duration_s=2.0,
                             qos=_latched())
    report = reports[-1][1]
    assert report.success and not report.clean and report.excess_bytes >= 48 * MIB
    assert any(f'held by pid {holder.pid}' in line for line in report.excess)

    holder.stop()  # nobody holds it now, but nothing ties it to a gone creator: it stays
    again = client.call(CleanupBetweenRuns, '/cleanup/between_runs',
                        CleanupBetweenRuns.Request(run_index=0, total_runs=3, wait_time_s=-1.0,
                                                   caller_pid=os.getpid()), timeout_s=90)
    assert again.success and os.path.exists(held)
    assert again.report.clean and 'back at the level at the previous cleanup' in again.message


def _latched():
    from expclean_ros.ros.qos import LATCHED_QOS
    return LATCHED_QOS
