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

"""The real ``ros2`` command: each shipped launch file in a pty with Ctrl-C, services, topics."""

import os
import re
import subprocess

import pytest

from helpers import proctree
from helpers import rosproc
from helpers.nodes import wait_for
from expclean_ros.core.procs import proctable

pytestmark = [pytest.mark.launch,
              pytest.mark.skipif(bool(rosproc.missing_reason()), reason=rosproc.missing_reason())]

READY = r'\[cleanup\]: ready'


def _launch(tmp_path, mark, *args):
    return rosproc.PtyProcess([rosproc.ros2(), 'launch', 'expclean_ros', *args],
                              rosproc.marked_env(mark), tmp_path / 'launch.log')


def _ctrl_c_and_check(run, mark, nodes_only=False):
    run.ctrl_c()
    code = run.wait(90)
    assert code == 0, run.text[-3000:]
    assert wait_for(lambda: not rosproc.marked(mark), 60), \
        [c.cmdline for c in rosproc.marked(mark)]
    bad = ['Traceback', 'escalating to', 'Unknown child process', 'FAILED']
    if nodes_only:  # rclpy nodes exit 0 on SIGINT/SIGTERM (a plain `sleep` dies of SIGINT)
        bad.append('process has died')
    for text in bad:
        assert text not in run.text, run.text[-3000:]  # launch saw every exit; one teardown
    assert run.text.count('tagged processes before teardown') <= 1, run.text[-3000:]


@pytest.mark.parametrize('launch_file', ['cleanup.launch.py', 'experiment_with_cleanup.launch.py',
                                         'experiment_with_cleanup.launch.xml',
                                         'experiment_with_cleanup.launch.yaml'])
def test_shipped_launch_file_stops_cleanly_on_ctrl_c(tmp_path, launch_file):
    mark = rosproc.new_mark()
    run = _launch(tmp_path, mark, launch_file)
    try:
        assert run.wait_for(READY, 90), run.text[-3000:]
        if launch_file.startswith('experiment'):
            assert wait_for(lambda: any(c.cmdline.startswith('sleep 600')
                                        for c in rosproc.marked(mark)), 30)
        _ctrl_c_and_check(run, mark)
        if launch_file.startswith('experiment'):  # the node outlived Ctrl-C for the call
            assert re.search(r'/cleanup comprehensive: ok', run.text), run.text[-3000:]
    finally:
        run.close()
        rosproc.stop_marked(mark)


def test_experiment_exit_tears_down_calls_cleanup_and_shuts_down(tmp_path):
    mark = rosproc.new_mark()
    run = _launch(tmp_path, mark, 'experiment_with_cleanup.launch.xml',
                  'experiment:=sleep 3', 'cleanup:=quick')
    try:
        assert run.wait(90) == 0, run.text[-3000:]
        assert '/cleanup quick: ok' in run.text, run.text[-3000:]
        assert not rosproc.marked(mark)
    finally:
        run.close()
        rosproc.stop_marked(mark)


def test_cleanup_call_is_ready_while_the_experiment_runs_and_made_once(tmp_path):
    """
    The call's client finds the node while the experiment runs (not after it ended).

    One teardown, one cleanup; the node then exits cleanly and nothing is left.
    """
    go = tmp_path / 'go'
    mark = rosproc.new_mark()
    run = _launch(tmp_path, mark, 'experiment_with_cleanup.launch.py', 'cleanup:=quick',
                  f'experiment:=while [ ! -e {go} ]; do sleep 0.1; done')
    try:
        assert run.wait_for(r'cleanup call /cleanup/quick ready', 90), run.text[-3000:]
        go.touch()  # only now does the experiment end
        assert run.wait(90) == 0, run.text[-3000:]
        text = run.text
        ended = re.search(r'\[experiment-\d+\]: process has finished cleanly', text)
        assert ended and text.index('cleanup call /cleanup/quick ready') < ended.start(), text
        assert text.count('tagged processes before teardown') == 1, text[-3000:]
        assert text.count('/cleanup quick: ok') == 1, text[-3000:]
        assert len(re.findall(r'\[cleanup\]: quick ok', text)) == 1, text[-3000:]
        assert re.search(r'\[cleanup_node-\d+\]: process has finished cleanly', text), text
        assert not rosproc.marked(mark)
    finally:
        run.close()
        rosproc.stop_marked(mark)


def test_wrapper_tags_tears_down_without_blocking_and_spares_the_node(tmp_path):
    mark = rosproc.new_mark()
    run = _launch(tmp_path, mark, 'wrap.launch.py', f'file:={rosproc.PIPELINE_LAUNCH}',
                  'cleanup:=quick')
    try:
        assert run.wait_for(READY, 90), run.text[-3000:]
        for role in ('talker', 'listener'):
            assert run.wait_for(f'e2e_{role} up', 60), run.text[-3000:]
        procs = {c.cmdline: c.pid for c in rosproc.marked(mark)}
        node = [pid for cmd, pid in procs.items() if 'cleanup_node' in cmd]
        talker = [pid for cmd, pid in procs.items() if cmd.endswith('pipeline.py talker')]
        assert len(node) == 1 and len(talker) == 1, procs
        # by construction: the node's environment holds no run tag, the experiment's does
        assert proctree.environ_var(node[0], 'EXPCLEAN_RUN_ID')[0] == proctable.ENV_UNSET
        assert proctree.environ_var(talker[0], 'EXPCLEAN_RUN_ID')[0] == proctable.ENV_OK
        _ctrl_c_and_check(run, mark, nodes_only=True)
        text = run.text
        before = text.index('tagged processes before teardown')
        stopped = text.index('stopped ', before)
        # launch handled the talker's exit while the teardown was still waiting
        assert before < text.index('[talker-', before) < stopped, text[-3000:]
        assert '/cleanup quick: ok' in text, text[-3000:]
        assert 'e2e_talker got 1 SIGINT' in text, text[-3000:]  # the terminal's, none from us
    finally:
        run.close()
        rosproc.stop_marked(mark)


ADD_CLEANUP = {
    'py': ('from launch import LaunchDescription\n'
           'from launch.actions import IncludeLaunchDescription\n'
           'from launch.launch_description_sources import AnyLaunchDescriptionSource\n'
           'from launch.substitutions import PathJoinSubstitution\n'
           'from launch_ros.substitutions import FindPackageShare\n\n\n'
           'def generate_launch_description():\n'
           '    return LaunchDescription([\n'
           '        IncludeLaunchDescription(AnyLaunchDescriptionSource(PathJoinSubstitution(\n'
           "            [FindPackageShare('expclean_ros'), 'launch',\n"
           "             'add_cleanup.launch.xml']))),\n"
           '        IncludeLaunchDescription(AnyLaunchDescriptionSource(%r)),\n'
           '    ])\n'),
    'xml': ('<launch>\n'
            '  <include file="$(find-pkg-share expclean_ros)/launch/add_cleanup.launch.xml"/>\n'
            '  <include file="%s"/>\n'
            '</launch>\n'),
    'yaml': ('launch:\n'
             '  - include: {file: $(find-pkg-share expclean_ros)/launch/add_cleanup.launch.xml}\n'
             '  - include: {file: %s}\n'),
}


@pytest.mark.parametrize('front_end', sorted(ADD_CLEANUP))
def test_one_include_line_adds_tag_teardown_cleanup(tmp_path, front_end):
    path = tmp_path / f'existing.launch.{front_end}'
    path.write_text(ADD_CLEANUP[front_end] % rosproc.PIPELINE_LAUNCH)
    mark = rosproc.new_mark()
    run = rosproc.PtyProcess([rosproc.ros2(), 'launch', str(path), 'expclean_cleanup:=quick'],
                             rosproc.marked_env(mark), tmp_path / 'launch.log')
    try:
        for pattern in (READY, 'e2e_talker up', 'e2e_listener up'):
            assert run.wait_for(pattern, 90), run.text[-3000:]
        _ctrl_c_and_check(run, mark, nodes_only=True)
        assert 'stopped 3 processes (0 left)' in run.text, run.text[-3000:]
        assert '/cleanup quick: ok' in run.text, run.text[-3000:]
    finally:
        run.close()
        rosproc.stop_marked(mark)


NODE_TAG = {
    'xml': ('<launch>\n'
            '  <expclean_cleanup_node namespace="{ns}">\n'
            '    <param name="publish_rate" value="7.0"/>\n'
            '    <remap from="{ns}/cleanup/memory" to="{topic}"/>\n'
            '  </expclean_cleanup_node>\n'
            '</launch>\n'),
    'yaml': ('launch:\n'
             '  - expclean_cleanup_node:\n'
             '      namespace: {ns}\n'
             '      param: [{{name: publish_rate, value: 7.0}}]\n'
             "      remap: [{{from: '{ns}/cleanup/memory', to: '{topic}'}}]\n"),
}


@pytest.mark.parametrize('front_end', sorted(NODE_TAG))
def test_node_tag_passes_param_and_remap_to_the_running_node(tmp_path, front_end, cli_env):
    """
    <param> and <remap> in the expclean_cleanup_node tag reach the node (launch_ros's parsing).

    ros2 param get sees the value, the memory topic is where the remap put it.
    """
    word = os.urandom(4).hex()
    ns, topic = f'/p{word}', f'/mem_{word}'
    path = tmp_path / f'node.launch.{front_end}'
    path.write_text(NODE_TAG[front_end].format(ns=ns, topic=topic))
    mark = rosproc.new_mark()
    run = rosproc.PtyProcess([rosproc.ros2(), 'launch', str(path)], rosproc.marked_env(mark),
                             tmp_path / 'launch.log')
    try:
        assert run.wait_for(r'cleanup\]: ready', 90), run.text[-3000:]
        # the node serves; the ros2 command's discovery of it may come a moment later
        got = []
        wait_for(lambda: got.append(_ros2(cli_env, 'param', 'get', f'{ns}/cleanup',
                                          'publish_rate')) or got[-1].returncode == 0, 60)
        out = got[-1]
        assert out.returncode == 0 and '7.0' in out.stdout, out.stdout + out.stderr
        out = _ros2(cli_env, 'topic', 'echo', '--once', '--no-daemon', topic,
                    'expclean_interfaces/msg/MemoryUsage')
        assert out.returncode == 0 and 'ram_used_bytes' in out.stdout, out.stdout + out.stderr
        _ctrl_c_and_check(run, mark, nodes_only=True)
    finally:
        run.close()
        rosproc.stop_marked(mark)


@pytest.fixture
def cli_env():
    env = rosproc.marked_env(rosproc.new_mark())
    yield env
    rosproc.stop_daemon(env)


def _ros2(env, *args):
    return subprocess.run([rosproc.ros2(), *args], env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120)


def test_trigger_services_and_memory_topic_from_ros2(start_node, cli_env):
    ns = '/t' + os.urandom(4).hex()
    start_node('--ros-args', '-r', f'__ns:={ns}', '-p', 'publish_rate:=5.0')
    for plan in ('quick', 'comprehensive'):
        out = _ros2(cli_env, 'service', 'call', f'{ns}/cleanup/{plan}', 'std_srvs/srv/Trigger')
        assert out.returncode == 0 and 'success=True' in out.stdout, out.stdout + out.stderr
        assert f'{plan} ok' in out.stdout, out.stdout
    out = _ros2(cli_env, 'topic', 'echo', '--once', '--no-daemon', f'{ns}/cleanup/memory',
                'expclean_interfaces/msg/MemoryUsage')  # the type: no discovery race
    assert out.returncode == 0 and 'ram_used_bytes' in out.stdout, out.stdout + out.stderr
