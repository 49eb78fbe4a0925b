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
The between-runs shared-memory step on real files and real processes.

With a record (``expclean run``, the launch RunTag): a run's process creates
files and exits; what it left is removed, and these survive: a file a live
decoy holds open, one it maps, one that existed before the run, another
user's, a ``torch_<pid>`` file whose pid a live process outside the run now
has (it created the file), and an unknown file nobody holds (reported with
its size). Without a record (``~/quick``, ``cleanup_utils``): only
``torch_<pid>`` files whose creator is provably gone.
"""

import os
import subprocess
import sys
import time

import pytest

from expclean_ros.core.memory import run_shm
from expclean_ros.core.memory.shm_record import RunEvidence, ShmRecord

from helpers.nodes import NOBODY
from helpers.shmscene import Proc, spawn_with_pid, token, write

SHM = '/dev/shm'
pytestmark = pytest.mark.skipif(not os.path.isdir(SHM), reason='no /dev/shm on this machine')


def kept(result, name):
    return next((k['why'] for k in result.data['kept'] if k['name'] == name), None)


def test_record_removes_what_the_run_left_and_nothing_else(made):
    paths, procs = made
    t = token()
    before = write(f'{SHM}/psm_pre_{t}')
    paths.append(before)
    record = ShmRecord.take(SHM)
    evidence = RunEvidence(SHM)
    # the run's process: creates torch_<its pid>_... and holds psm_new_ and the old file
    new = f'{SHM}/psm_new_{t}'
    run = Proc(new, 'create')
    procs.append(run)
    own = write(f'{SHM}/torch_{run.pid}_11_0')
    paths += [new, own]
    held_by_run = Proc(before, 'open')  # the run's second process holds the old file
    procs.append(held_by_run)
    evidence.observe([run.pid, held_by_run.pid])
    assert evidence.ran(run.pid) is not None
    # what others do meanwhile, all with names that would qualify but for the rule
    held = write(f'{SHM}/torch_{run.pid}_12_0')
    mapped = write(f'{SHM}/torch_{run.pid}_13_0')
    unknown = write(f'{SHM}/psm_unknown_{t}', 3 * 65536)
    paths += [held, mapped, unknown]
    holder, mapper = Proc(held, 'open'), Proc(mapped, 'map')
    procs += [holder, mapper]
    foreign = f'{SHM}/torch_{run.pid}_14_0'
    paths.append(foreign)
    subprocess.run([*NOBODY, 'dd', 'if=/dev/zero', f'of={foreign}', 'bs=64k', 'count=1'],
                   check=True, capture_output=True, timeout=30)
    assert os.stat(foreign).st_uid != os.geteuid()
    run.stop()
    held_by_run.stop()
    reused = None
    if os.geteuid() == 0:  # a live process outside the run now has the run's pid, and a file
        time.sleep(1.2)  # it started after the files above (beyond the step's 1 s margin)
        reused = spawn_with_pid(run.pid, f'{SHM}/torch_{run.pid}_15_0', 'make')
        if reused is not None:
            procs.append(reused)
            paths.append(f'{SHM}/torch_{run.pid}_15_0')

    result = run_shm.clean_run_shm(record, evidence)
    assert result.status == 'ok', result.detail
    assert not os.path.exists(new) and not os.path.exists(own), result.data
    assert {os.path.basename(new), os.path.basename(own)} <= set(result.data['removed'])
    for path in (before, held, mapped, unknown, foreign):
        assert os.path.exists(path), path
    assert kept(result, os.path.basename(held)).startswith(f'held by pid {holder.pid} (')
    assert kept(result, os.path.basename(mapped)).startswith(f'held by pid {mapper.pid} (')
    assert kept(result, os.path.basename(unknown)) == 'unknown'
    assert kept(result, os.path.basename(before)) is None  # never even considered
    assert result.data['foreign'] >= 1
    assert 'psm_unknown_' in result.detail or result.data['kept_bytes'] >= 3 * 65536
    if reused is not None:
        assert os.path.exists(f'{SHM}/torch_{run.pid}_15_0')
        assert kept(result, f'torch_{run.pid}_15_0').startswith(f'creator pid {run.pid}')


def test_no_record_removes_only_files_whose_creator_is_gone(tmp_path, made):
    paths, procs = made
    root = str(tmp_path)
    live = Proc('/dev/null', 'open')
    procs.append(live)
    files = {'live': write(f'{root}/torch_{live.pid}_1_0'),
             'other': write(f'{root}/psm_{token()}'),
             'fastdds': write(f'{root}/fastdds_0123456789abcdef')}
    dead_pid = _dead_pid()
    files['dead'] = write(f'{root}/torch_{dead_pid}_2_0')
    reused = None
    if os.geteuid() == 0:  # the pid is reused by a process that started after the file
        target = _free_pid()
        files['reused'] = write(f'{root}/torch_{target}_3_0')
        time.sleep(1.2)
        reused = spawn_with_pid(target, '/dev/null', 'open')
        if reused is not None:
            procs.append(reused)
    result = run_shm.clean_run_shm(root=root)
    assert result.status == 'ok' and result.data['mode'] == 'no record'
    assert not os.path.exists(files['dead'])
    assert os.path.exists(files['live'])  # its creator (alive) started before it
    assert kept(result, f'torch_{live.pid}_1_0').startswith(f'creator pid {live.pid}')
    assert os.path.exists(files['other']) and os.path.exists(files['fastdds'])
    if reused is not None:
        assert not os.path.exists(files['reused'])


def _dead_pid() -> int:
    proc = subprocess.Popen(['true'])
    proc.wait()
    return proc.pid


def _free_pid() -> int:
    with open('/proc/sys/kernel/ns_last_pid') as f:
        pid = int(f.read()) + 200
    while os.path.exists(f'/proc/{pid}'):
        pid += 1
    return pid


def test_missing_root_is_skipped_with_the_reason(tmp_path):
    result = run_shm.clean_run_shm(root=str(tmp_path / 'nowhere'))
    assert result.status == 'skipped' and 'does not exist' in result.detail
    record = ShmRecord.take(str(tmp_path / 'nowhere'))
    assert record.reason and 'does not exist' in record.reason
    result = run_shm.clean_run_shm(record)
    assert result.status == 'skipped' and 'does not exist' in result.detail


def test_unreadable_root_is_skipped_with_the_reason(tmp_path, as_nobody):
    hidden = tmp_path / 'hidden'
    hidden.mkdir(mode=0o700)
    os.chmod(tmp_path, 0o755)
    code = ('from expclean_ros.core.memory import run_shm; '
            f'r = run_shm.clean_run_shm(root={str(hidden)!r}); print(r.status, r.detail)')
    out = subprocess.run([*as_nobody, sys.executable, '-c', code],
                         capture_output=True, text=True, timeout=60, cwd='/tmp')
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith('skipped') and 'permission denied' in out.stdout.lower()
