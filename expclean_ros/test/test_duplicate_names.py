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
One node per name, and no silent duplicate.

A second cleanup node of a full name already served exits at start-up with a clear error, and the
first keeps serving. Two that start together can miss each other (started here with the variable
that lets a duplicate start): then each is said loudly, by the node, by ``expclean nodes`` and by
the wrapper.
"""

import os
import subprocess
import sys

import pytest

from helpers import rosproc
from helpers.nodes import ros_env, wait_for

pytest.importorskip('rclpy', reason='rclpy (ROS 2 wheels) not installed')

CLI = [sys.executable, '-c', 'import sys; from expclean_ros.cli import main; sys.exit(main())']
ALLOW = {'EXPCLEAN_ALLOW_DUPLICATE_NAME': '1'}  # ros/duplicate_watch.py: a duplicate may start


def _ns():
    return '/dup' + os.urandom(4).hex()


def test_node_and_nodes_verb_say_a_second_node_of_the_same_name(start_node):
    ns = _ns()
    first = start_node('--ros-args', '-r', f'__ns:={ns}')
    assert wait_for(lambda: 'ready' in first.log(), 60), first.log()
    second = start_node('--ros-args', '-r', f'__ns:={ns}', env=ros_env(**ALLOW))
    other = start_node('--ros-args', '-r', f'__ns:={ns}x')  # another name: no warning
    said = f'2 nodes named {ns}/cleanup are on the graph'
    assert wait_for(lambda: said in second.log() and said in first.log(), 60), \
        first.log() + second.log()
    out = subprocess.run([*CLI, 'nodes', '--wait', '10', '--expect', '2'],
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f'{ns}/cleanup' in out.stdout.split() and f'{ns}x/cleanup' in out.stdout.split()
    assert f'warning: {said}' in out.stderr, out.stderr
    assert f'{ns}x/cleanup are on' not in out.stderr + other.log()


@pytest.mark.launch
@pytest.mark.skipif(bool(rosproc.missing_reason()), reason=rosproc.missing_reason())
def test_wrapper_says_its_cleanup_node_shares_its_name(start_node, tmp_path):
    ns = _ns()
    first = start_node('--ros-args', '-r', f'__ns:={ns}')
    assert wait_for(lambda: 'ready' in first.log(), 60), first.log()
    good = tmp_path / 'good.launch.py'
    good.write_text('from launch import LaunchDescription\n'
                    'from launch.actions import ExecuteProcess\n\n\n'
                    'def generate_launch_description():\n'
                    "    return LaunchDescription([ExecuteProcess(cmd=['sleep', '600'])])\n")
    mark = rosproc.new_mark()
    run = rosproc.PtyProcess([rosproc.ros2(), 'launch', 'expclean_ros', 'wrap.launch.py',
                              f'file:={good}', 'cleanup:=quick', f'cleanup_namespace:={ns}'],
                             rosproc.marked_env(mark, **ALLOW), tmp_path / 'launch.log')
    try:
        said = f'2 nodes named {ns}/cleanup are on the graph'
        assert run.wait_for(r'\[expclean\]: ' + said, 90), run.text[-3000:]
        run.ctrl_c()
        assert run.wait(90) == 0, run.text[-3000:]
    finally:
        run.close()
        rosproc.stop_marked(mark)


def test_a_second_node_of_a_name_exits_before_serving_and_the_first_keeps_serving(start_node):
    ns = _ns()
    first = start_node('--ros-args', '-r', f'__ns:={ns}')
    assert wait_for(lambda: 'ready' in first.log(), 60), first.log()
    second = start_node('--ros-args', '-r', f'__ns:={ns}')
    assert second.popen.wait(60) == 1, second.log()
    log = second.log()
    assert f'cleanup_node: error: another node named {ns}/cleanup is already on the graph' in log
    assert '-r __ns:=/robot2' in log and 'namespace:=/robot2' in log, log
    assert ']: ready: ' not in log and 'Traceback' not in log, log
    call = subprocess.run([*CLI, 'call', f'{ns}/cleanup', 'quick'], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120)
    assert call.returncode == 0 and 'quick ok' in call.stdout, call.stdout + call.stderr
    assert first.popen.poll() is None
    assert 'nodes named' not in first.log(), first.log()  # the refused one never counted
