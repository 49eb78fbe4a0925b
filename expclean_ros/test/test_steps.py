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

"""Cleanup steps on the real machine: every ok / skipped / failed path that can occur here."""

import gc
import os
import shutil
import subprocess
import sys

import pytest

from helpers.nodes import wait_for
from expclean_ros.core.cleanup import steps
from expclean_ros.core.memory.gpu import read_gpus
from expclean_ros.core.step_result import StepResult


def test_python_memory_collects_real_garbage():
    class Node:
        pass
    gc.collect()
    for _ in range(200):
        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle only gc can free
    del a, b
    result = steps.python_memory()
    assert result.status == 'ok', result
    assert result.data['gc_collected'] >= 400
    if 'torch' not in sys.modules:
        assert 'torch CUDA not initialised' in result.detail
        assert 'torch_freed_bytes' not in result.data


@pytest.mark.skipif(os.geteuid() != 0, reason='dropping caches for real needs root')
def test_drop_caches_for_real_as_root():
    synced = []
    result = steps.system_caches(sync=lambda: synced.append(os.sync()))  # once per run
    assert result.status == 'ok', result
    assert synced == [None], 'synced once, before the write'
    assert result.data['cached_after_bytes'] >= 0
    assert 'dropped page cache' in result.detail


def test_drop_caches_skipped_as_nobody(as_nobody):
    code = ('from expclean_ros.core.cleanup.steps import system_caches; synced = []; '
            'r = system_caches(sync=lambda: synced.append(1)); '
            'print(r.status); print(r.data.get("reason")); print(r.detail); print(len(synced))')
    proc = subprocess.run([*as_nobody, sys.executable, '-c', code], cwd='/tmp',
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    status, reason, detail, synced = proc.stdout.splitlines()[:4]
    assert (status, reason) == ('skipped', 'not permitted'), proc.stdout
    assert 'EACCES' in detail and 'not root' in detail
    assert synced == '0', 'no machine-wide sync for a write that cannot happen'


def test_drop_caches_missing_file_is_skipped(tmp_path):
    result = steps.system_caches(str(tmp_path / 'no_such_drop_caches'))
    assert result.status == 'skipped'
    assert result.data['reason'] == 'missing'


def test_drop_caches_other_error_is_failed(tmp_path):
    # A directory in place of the file: EISDIR is neither "not permitted" nor "missing".
    synced = []
    result = steps.system_caches(str(tmp_path), sync=lambda: synced.append(1))
    assert result.status == 'failed' and not synced
    assert 'EISDIR' in result.data['reason']


def test_gpu_reset_off_unless_allowed():
    result = steps.gpu_reset()
    assert result.status == 'skipped'
    assert result.data['reason'] == 'not allowed'


def test_gpu_reset_allowed_but_no_nvml_is_skipped():
    gpus, status = read_gpus()
    if status == 'ok':
        pytest.skip('NVML works here; the no-NVML path cannot occur')
    result = steps.gpu_reset(True)
    assert result.status == 'skipped'
    assert result.data['reason'] == 'no NVML'
    assert 'NVML' in result.detail


def test_gpu_reset_refused_while_held_or_without_nvidia_smi():
    gpus, status = read_gpus()
    if status != 'ok' or not gpus:
        pytest.skip(f'no NVML GPU on this machine ({status})')
    # Never a real reset from a test: `true` stands in for nvidia-smi.
    result = steps.gpu_reset(True, timeout_s=30, smi=shutil.which('true'))
    if any(g.processes for g in gpus):
        assert result.status == 'skipped' and result.data['reason'] == 'GPU in use'
    else:
        assert result.status == 'ok' and result.data['reset'] == [g.index for g in gpus]


def test_hook_ok_keeps_exit_code_and_output():
    result = steps.run_hook('echo one; echo two', 10)
    assert result.status == 'ok'
    assert result.data['exit_code'] == 0
    assert result.data['output_tail'] == 'one\ntwo'


def test_hook_non_zero_exit_is_failed_with_tail():
    result = steps.run_hook('echo bad thing >&2; exit 3', 10, name='hook_after[0]')
    assert result.name == 'hook_after[0]'
    assert result.status == 'failed'
    assert result.data['exit_code'] == 3
    assert 'bad thing' in result.data['output_tail'] and 'bad thing' in result.detail


def test_hook_timeout_is_failed_and_kills_its_children(tmp_path):
    """
    A hook past its limit fails and its whole session goes, the background child too.

    The hook's child sleeps far longer than any limit here: a hook left running would
    come back ok, not timed out. The limit is doubled until the hook started its child
    before it (on a loaded machine the shell may not get that far in 0.5 s).
    """
    pid_file = tmp_path / 'pid'
    for limit_s in (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0):
        result = steps.run_hook(f'sleep 600 & echo $! > {pid_file}; echo started; wait', limit_s)
        assert result.status == 'failed', result
        assert result.data['timed_out'] is True and result.data['exit_code'] is None
        assert 'timed out' in result.detail
        if 'started' in result.data['output_tail']:
            break
    else:
        pytest.fail('the hook never started its child within its limit')
    sleeper = int(pid_file.read_text())

    def gone():  # killed with its session; its parent shell reaps it
        return (not os.path.exists(f'/proc/{sleeper}')
                or open(f'/proc/{sleeper}/stat').read().split()[2] == 'Z')
    if not wait_for(gone, 60):
        os.kill(sleeper, 9)  # do not leak it, then fail
        pytest.fail('the hook\'s child survived the timeout')


def test_hook_rejects_misuse():
    with pytest.raises(ValueError, match='non-empty'):
        steps.run_hook('  ')
    with pytest.raises(ValueError, match='greater than zero'):
        steps.run_hook('true', 0)


def test_teardown_slot_without_selection_is_skipped():
    result = steps.teardown_slot()
    assert result.status == 'skipped'
    assert result.detail == 'no teardown selection configured'


def test_teardown_slot_runs_the_given_step_and_contains_errors():
    given = StepResult('teardown', 'ok', 'stopped 2 processes (0 left)', 0.1,
                       {'stopped': 2, 'left': 0})
    assert steps.teardown_slot(lambda: given) == given
    broken = steps.teardown_slot(lambda: 1 / 0)
    assert broken.status == 'failed' and 'ZeroDivisionError' in broken.detail
