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

"""The ROS-workspace path: colcon builds both packages over the venv; the built node answers."""

import os
import shutil
import signal
import subprocess
import sys

import pytest

from helpers.nodes import ros_env
from helpers.paths import REPO_ROOT

pytest.importorskip('colcon_core', reason='colcon is not installed in this environment')
from std_srvs.srv import Trigger  # noqa: E402

VENV = sys.prefix


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    ws = tmp_path_factory.mktemp('ws')
    src = ws / 'src'
    src.mkdir()
    for pkg in ('expclean_interfaces', 'expclean_ros'):  # a clone in src/, as a user would have
        shutil.copytree(os.path.join(REPO_ROOT, pkg), src / pkg,
                        ignore=shutil.ignore_patterns('__pycache__', '*.egg-info', 'build'))
    env = ros_env(AMENT_PREFIX_PATH=VENV, CMAKE_PREFIX_PATH=VENV,
                  PATH=f'{VENV}/bin:{os.environ["PATH"]}')
    proc = subprocess.run(
        [os.path.join(VENV, 'bin', 'colcon'), 'build', '--event-handlers', 'console_direct-',
         '--cmake-args', f'-DPython3_EXECUTABLE={sys.executable}', '-DBUILD_TESTING=OFF'],
        cwd=ws, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return ws


def test_colcon_builds_both_packages(workspace):
    install = workspace / 'install'
    assert (install / 'expclean_interfaces' / 'share' / 'expclean_interfaces' / 'srv'
            / 'Teardown.srv').exists()
    assert (install / 'expclean_ros' / 'lib' / 'expclean_ros' / 'cleanup_node').exists()
    assert (install / 'expclean_ros' / 'share' / 'expclean_ros' / 'launch'
            / 'cleanup.launch.py').exists()


def test_built_node_answers_a_service_call(workspace, client, tmp_path):
    install = workspace / 'install'
    log = open(tmp_path / 'node.log', 'wb')
    # The user's way: source the workspace, then run the node it installed.
    node = subprocess.Popen(
        ['bash', '-c', f'. "{install}/setup.sh" && exec "{install}/expclean_ros/lib/'
         'expclean_ros/cleanup_node"'],
        cwd=workspace, env=ros_env(AMENT_PREFIX_PATH=VENV), stdin=subprocess.DEVNULL,
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        response = client.call(Trigger, '/cleanup/quick', Trigger.Request(),
                               timeout_s=120, wait_s=30)
        assert response.success, response.message
        # The node that answered is the one colcon built, not the venv's editable copy.
        maps = open(f'/proc/{node.pid}/maps').read()
        assert f'{install}/expclean_interfaces/lib/' in maps
        # PYTHONPATH (set by setup.sh) comes before the venv's site-packages.
        assert str(install / 'expclean_ros') in _pythonpath(node.pid)
    finally:
        node.send_signal(signal.SIGINT)
        try:
            code = node.wait(15)
        except subprocess.TimeoutExpired:
            node.kill()
            code = node.wait(10)
        log.close()
    assert code == 0, open(tmp_path / 'node.log').read()


def _pythonpath(pid):
    with open(f'/proc/{pid}/environ', 'rb') as f:
        env = dict(kv.split(b'=', 1) for kv in f.read().split(b'\0') if b'=' in kv)
    return env.get(b'PYTHONPATH', b'').decode()
