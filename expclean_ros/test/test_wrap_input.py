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
Bad input to the wrapper or the one-line include changes nothing.

One clear error, before any node starts or any cleanup runs.
"""

import os
import re

import pytest

from helpers import rosproc
from expclean_ros.core.runs.cgroup_trust import expected_cgroup

pytestmark = [pytest.mark.launch,
              pytest.mark.skipif(bool(rosproc.missing_reason()), reason=rosproc.missing_reason())]


def _launch(tmp_path, *args):
    mark = rosproc.new_mark()
    run = rosproc.PtyProcess([rosproc.ros2(), 'launch', *args],
                             rosproc.marked_env(mark, EXPCLEAN_STATE_DIR=tmp_path / 'state'),
                             tmp_path / 'launch.log')
    try:
        code = run.wait(120)
    finally:
        run.close()
    left = rosproc.marked(mark)
    rosproc.stop_marked(mark)
    return code, run.text, left


def _nothing_done(code, text, left):
    assert code == 1, text
    assert left == (), left
    for sign in ('process started', 'run tag EXPCLEAN_RUN_ID', 'tagged processes before',
                 'cleanup call', '[cleanup]'):
        assert sign not in text, text  # no node, no tag, no teardown, no cleanup
    errors = re.findall(r'\[ERROR\].*', text)
    assert len(errors) == 1, text
    return errors[0]


@pytest.mark.parametrize('args,says', [
    (['file:=nope.launch.py'], 'file:=nope.launch.py: no such launch file'),
    (['package:=no_such_pkg_x', 'file:=a.launch.py'], 'package:=no_such_pkg_x: no such package'),
    (['package:=expclean_ros', 'file:=nope.launch.py'], 'file:=nope.launch.py: no such launch'),
    (['file:=BROKEN', 'cleanup:=quick'], 'does not load'),
    (['file:=GOOD', 'cleanup:=quik'], "cleanup:=quik: must be 'comprehensive', 'quick' or"),
    (['file:=GOOD', 'cleanup_namespace:=1robot'], 'cleanup_namespace:=1robot: not a ROS'),
])
def test_wrapper_refuses_bad_input_before_anything_starts(tmp_path, args, says):
    good = tmp_path / 'good.launch.py'
    good.write_text('from launch import LaunchDescription\n\n\n'
                    'def generate_launch_description():\n    return LaunchDescription([])\n')
    broken = tmp_path / 'broken.launch.py'
    broken.write_text('def generate_launch_description(:\n')
    args = [a.replace('GOOD', str(good)).replace('BROKEN', str(broken)) for a in args]
    error = _nothing_done(*_launch(tmp_path, 'expclean_ros', 'wrap.launch.py', *args))
    assert says in error, error


def test_include_refuses_a_bad_plan_before_the_node_starts(tmp_path):
    path = tmp_path / 'existing.launch.xml'
    path.write_text('<launch>\n'
                    '  <include file="$(find-pkg-share expclean_ros)/launch/'
                    'add_cleanup.launch.xml"/>\n'
                    '  <executable cmd="sleep 600" name="experiment"/>\n'
                    '</launch>\n')
    code, text, left = _launch(tmp_path, str(path), 'expclean_cleanup:=quik')
    assert code == 1, text
    assert left == (), left
    assert "cleanup plan must be 'quick' or 'comprehensive', got 'quik'" in text, text
    assert 'process started' not in text and '[cleanup]' not in text, text
    # the run tag was made before the plan was read: its record and cgroup went with launch
    run_id = re.search(r'run tag EXPCLEAN_RUN_ID=(run-\w+)', text).group(1)
    assert not list((tmp_path / 'state').glob('launch-*.json'))
    assert expected_cgroup(run_id) is None or not os.path.exists(expected_cgroup(run_id))
