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
A crashed PyTorch run leaves nothing in /dev/shm, under ``expclean run`` and under the wrapper.

The run: a real DataLoader (``file_system``, two workers), a 32 MiB
``multiprocessing.shared_memory`` segment and an rclpy node, then SIGKILL.
Around it, outside the run: a file that existed before, a 48 MiB segment a
live decoy creates and holds (so the machine is *not back*, and the message
says who holds it), a ``torch_<pid>`` file whose named pid is a live process
(its creator), another user's file named after a run's worker, and a live
node's Fast DDS segments. All of them survive; nothing of the run does.
"""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from helpers import rosproc
from helpers.nodes import NOBODY, ros_env, wait_for
from expclean_ros.core.memory.shm_holders import scan_holders
from expclean_ros.core.units import MIB
from helpers.shmscene import Proc, token, write

HERE = os.path.dirname(os.path.abspath(__file__))
PIPELINE = os.path.join(HERE, 'helpers', 'torch_pipeline.py')
CLI = [sys.executable, '-c', 'import sys; from expclean_ros.cli import main; sys.exit(main())']
SHM = '/dev/shm'
pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec('torch') is None,
                       reason='torch not installed (pip install torch==2.13.0, the CPU wheel)'),
    pytest.mark.skipif(not os.path.isdir(SHM), reason='no /dev/shm on this machine')]


def run_env(**extra):
    return ros_env(EXPCLEAN_SHM_ROOT=SHM, **extra)  # the real /dev/shm: torch's files are there


def run_files(info):
    """Return the run's own files it held (not lttng's, which every ROS process maps)."""
    return [n for n in info['held'] if n.startswith(('torch_', 'psm_'))]


def ready(out, proc, log):
    assert wait_for(lambda: os.path.exists(out) or proc.poll() is not None, 180), log()
    assert os.path.exists(out), log()
    with open(out) as f:
        info = json.load(f)
    assert len([n for n in info['held'] if n.startswith('torch_')]) >= 6, info
    return info


def decoys(made, info, start_node):
    """
    Files and processes outside the run, made while it runs.

    Returns the paths that must survive and the holder of the 48 MiB segment.
    """
    paths, procs = made
    holder = Proc(f'{SHM}/psm_decoy_{token()}', 'create', 48 * MIB)
    creator = Proc(SHM + '/torch_{pid}_1_0', 'make')
    procs += [holder, creator]
    foreign = f'{SHM}/torch_{info["workers"][0]}_99_0'
    subprocess.run([*NOBODY, 'dd', 'if=/dev/zero', f'of={foreign}', 'bs=64k', 'count=1'],
                   check=True, capture_output=True, timeout=30)
    node = start_node('--ros-args', '-p', 'publish_rate:=0.0', env=ros_env())
    assert wait_for(lambda: scan_holders(SHM, [node.pid]).held, 60), node.log()
    dds = [n for n in os.listdir(SHM)  # Fast DDS 3 (Kilted) and 2 (Jazzy) names
           if n.startswith(('fastdds_', 'fastrtps_')) and 'port' not in n
           and os.stat(f'{SHM}/{n}').st_ino in
           {ino for _, ino in scan_holders(SHM, [node.pid]).held}]
    assert dds
    paths += [holder.path, creator.path, foreign]
    return [holder.path, creator.path, foreign] + [f'{SHM}/{n}' for n in dds], holder


def test_expclean_run_of_a_crashing_dataloader_leaves_nothing(tmp_path, made, start_node):
    paths, _ = made
    before = write(f'{SHM}/psm_before_{token()}')
    paths.append(before)
    (tmp_path / 'runs.csv').write_text('x\n1\n')
    out, go = str(tmp_path / 'out.json'), str(tmp_path / 'go')
    log = open(tmp_path / 'runner.log', 'wb')
    runner = subprocess.Popen(
        [*CLI, 'run', str(tmp_path / 'runs.csv'), '--ledger', str(tmp_path / 'l.jsonl'),
         '--quick', '--stop-timeouts', '1,1,1', '--', sys.executable, PIPELINE, out,
         '--node', '--psm', '32', '--go', go],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=run_env(),
        start_new_session=True)
    try:
        info = ready(out, runner, lambda: (tmp_path / 'runner.log').read_text())
        survivors, holder = decoys(made, info, start_node)
        open(go, 'w').close()  # the crash
        assert runner.wait(240) == 3, (tmp_path / 'runner.log').read_text()  # -9: failed
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, 9)  # our own session
            runner.wait(10)
        log.close()
    text = (tmp_path / 'runner.log').read_text()
    left = [n for n in os.listdir(SHM) if n.startswith('torch_') and
            any(n.startswith(f'torch_{pid}_') for pid in info['workers'] + [info['pid']])]
    assert left == [os.path.basename(survivors[2])], text
    assert [n for n in run_files(info) if os.path.exists(f'{SHM}/{n}')] == [], text
    for path in [before] + survivors:
        assert os.path.exists(path), (path, text)
    record = [json.loads(x) for x in open(tmp_path / 'l.jsonl') if '"type": "run"' in x][0]
    assert record['shm']['status'] == 'ok', record['shm']
    checked = record['verify']
    assert not checked['clean'] and checked['shm_excess_bytes'] >= 48 * MIB
    assert f'held by pid {holder.pid} (' in checked['line']
    assert 'run 1: not back: ' in text and f'held by pid {holder.pid}' in text


@pytest.mark.launch
def test_wrapped_launch_of_a_crashing_dataloader_leaves_nothing(tmp_path, made):
    if rosproc.missing_reason():
        pytest.skip(rosproc.missing_reason())
    out, go = str(tmp_path / 'out.json'), str(tmp_path / 'go')
    experiment = tmp_path / 'experiment.launch.py'
    experiment.write_text(EXPERIMENT.format(cmd=[sys.executable, PIPELINE, out, '--go', go]))
    mark = rosproc.new_mark()
    run = rosproc.PtyProcess(
        [rosproc.ros2(), 'launch', 'expclean_ros', 'wrap.launch.py', f'file:={experiment}',
         'cleanup:=none'], rosproc.marked_env(mark, EXPCLEAN_SHM_ROOT=SHM),
        tmp_path / 'launch.log')
    try:
        info = ready(out, run.popen, lambda: run.text[-3000:])
        paths, procs = made
        holder = Proc(f'{SHM}/psm_decoy_{token()}', 'create', 48 * MIB)
        procs.append(holder)
        paths.append(holder.path)
        open(go, 'w').close()
        assert run.wait(240) == 0, run.text[-3000:]
    finally:
        run.close()
        rosproc.stop_marked(mark)
    assert [n for n in run_files(info) if os.path.exists(f'{SHM}/{n}')] == [], run.text[-3000:]
    assert os.path.exists(holder.path)
    assert 'run_shm ok' in run.text, run.text[-3000:]
    assert 'not back: ' in run.text and f'held by pid {holder.pid} (' in run.text


EXPERIMENT = '''
from launch import LaunchDescription
from launch.actions import EmitEvent, ExecuteProcess, RegisterEventHandler
from launch.event_handlers import OnProcessExit
from launch.events import Shutdown


def generate_launch_description():
    crash = ExecuteProcess(cmd={cmd!r}, output='screen')
    return LaunchDescription([crash, RegisterEventHandler(OnProcessExit(
        target_action=crash, on_exit=[EmitEvent(event=Shutdown(reason='crashed'))]))])
'''
