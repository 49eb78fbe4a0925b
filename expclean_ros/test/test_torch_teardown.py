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
torch's own clean-up first: the teardown stops torch_shm_manager last, and it unlinks.

A real DataLoader (``file_system`` strategy, two workers) in a tagged run.
Stopped first (``owner_grace_s=0``, the old order) the managers leave their
files in /dev/shm; stopped last, after their clients, they exit by themselves
(stage ``exited``) and nothing of the run is left.
"""

import importlib.util
import json
import os
import sys

import pytest

from expclean_ros.core.memory.run_shm import clean_run_shm
from expclean_ros.core.memory.shm_record import RunEvidence, ShmRecord
from expclean_ros.core.procs.scanner import select
from expclean_ros.core.procs.teardown import is_shm_owner, teardown
from expclean_ros.core.runs.tagged_start import start_tagged

from helpers.nodes import wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
PIPELINE = os.path.join(HERE, 'helpers', 'torch_pipeline.py')
pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec('torch') is None,
                       reason='torch not installed (pip install torch==2.13.0, the CPU wheel)'),
    pytest.mark.skipif(not os.path.isdir('/dev/shm'), reason='no /dev/shm on this machine')]


def start_pipeline(tmp_path, *extra):
    out = str(tmp_path / 'pipeline.json')
    run = start_tagged([sys.executable, PIPELINE, out, *extra], use_cgroup=False,
                       stdout=open(tmp_path / 'pipeline.log', 'wb'))
    assert wait_for(lambda: os.path.exists(out) or run.popen.poll() is not None, 120)
    assert os.path.exists(out), (tmp_path / 'pipeline.log').read_text()
    with open(out) as f:
        info = json.load(f)
    torch_files = [n for n in info['held'] if n.startswith('torch_')]
    assert len(torch_files) >= 6, info  # the batches live in /dev/shm files of the workers
    return run, torch_files


def left(names):
    return [n for n in names if os.path.exists(f'/dev/shm/{n}')]


def test_manager_stopped_last_unlinks_the_runs_files(tmp_path):
    record = ShmRecord.take('/dev/shm')
    run, files = start_pipeline(tmp_path, '--go', str(tmp_path / 'go'))
    (tmp_path / 'go').touch()  # the crash: the run's main process dies by SIGKILL
    assert wait_for(lambda: run.popen.poll() is not None, 60)
    result = run.stop()
    owners = [p for p in result.processes if is_shm_owner(p.candidate)]
    assert owners, [p.candidate.name for p in result.processes]
    assert {p.stage for p in owners} == {'exited'}, result.summary()
    assert not result.left
    assert left(files) == []
    assert clean_run_shm(record).data['files'] == 0  # nothing left for the step


def test_manager_stopped_first_leaves_them_and_the_step_removes_them(tmp_path):
    record = ShmRecord.take('/dev/shm')
    evidence = RunEvidence('/dev/shm')
    run, files = start_pipeline(tmp_path, '--go', str(tmp_path / 'go'))
    evidence.observe(c.pid for c in select(run.selection()))
    (tmp_path / 'go').touch()
    assert wait_for(lambda: run.popen.poll() is not None, 60)
    result = teardown(run.selection(), owner_grace_s=0)
    run.popen.wait(10)
    assert not result.left
    assert left(files) == files  # the owners were signalled before they could unlink
    step = clean_run_shm(record, evidence)
    assert step.status == 'ok', step.detail
    assert left(files) == [] and set(files) <= set(step.data['removed'])
