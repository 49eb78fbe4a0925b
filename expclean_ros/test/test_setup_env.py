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
``make run``'s set-up as a user meets it on a clone of their own.

``ROS_DISTRO=humble`` without Humble's launch sources beside the checkout says at once, before it
builds anything, what it is for and what a Humble user does instead.
"""

import os
import shutil
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_humble_without_its_sources_says_what_it_is_for_before_building(tmp_path):
    clone = tmp_path / 'clone'  # nothing beside it: no ../shared/upstream
    (clone / 'scripts').mkdir(parents=True)
    shutil.copy(os.path.join(ROOT, 'scripts', 'setup_env.sh'), clone / 'scripts')
    venv = clone / '.venv-humble'
    env = dict(os.environ, ROS_DISTRO='humble')
    done = subprocess.run(['bash', str(clone / 'scripts' / 'setup_env.sh'), str(venv)], env=env,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 2, done.stdout + done.stderr
    said = ' '.join(done.stderr.split())
    assert "ROS_DISTRO=humble is for this repository's tests only" in said, said
    assert 'colcon workspace' in said and 'ros2 launch expclean_ros cleanup.launch.py' in said
    assert 'make run' in said
    assert not venv.exists() and done.stdout == ''  # nothing built, nothing else said
