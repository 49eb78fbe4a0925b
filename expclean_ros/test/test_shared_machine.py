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
Verdicts on a shared machine, with real processes: what the run left versus what others did.

The other user is ``nobody`` where the tests run as root, else an untagged process of this
user named ``foreign-grower`` / ``foreign-burner``. A foreign process that grows during a
clean run leaves the run back, and is named; a leftover the run's teardown did not stop, or
a ``/dev/shm`` file of the run a live decoy holds, makes it not back, blamed on the run.
"""

import json
import os
import subprocess
import sys

import pytest

from expclean_ros.core.cleanup import plans
from expclean_ros.core.cleanup.options import CleanupOptions
from expclean_ros.core.memory.probes import take_snapshot, writeback_bytes
from expclean_ros.core.memory.settle import settle
from expclean_ros.core.procs.selection import Selection
from expclean_ros.core.runs.accounting import Accounting
from expclean_ros.core.runs.disturbance import Pressure, Thresholds
from expclean_ros.core.runs.end_of_run import RunStart, end_run
from expclean_ros.core.runs.ledger import read_ledger
from expclean_ros.core.runs.options import SequencerOptions
from expclean_ros.core.runs.quiet_start import wait_quiet
from expclean_ros.core.runs.records import in_process_cleanup
from expclean_ros.core.runs.run_table import load_table
from expclean_ros.core.runs.sequencer import run_batch
from expclean_ros.core.runs.shm_watch import ShmWatch
from expclean_ros.core.runs.tagged_start import new_run_id

from helpers.cli import FAST, expclean
from helpers.foreign import BURN, GROWER, OTHER, grow, other_user, stop
from helpers.shmscene import Proc, token, write

MIB = 2**20
# This machine's RAM figures move by up to ~150 MiB a second with other sessions' work:
# the runs here hold 1 GiB and judge with a 256 MiB tolerance, which 1 GiB is far above.
TOLERANCE = 256 * MIB


@pytest.fixture
def started():
    procs = []
    yield procs
    stop(procs)


def test_a_foreign_process_that_grows_during_a_clean_run_is_named_and_the_run_is_back(
        started):
    grower = other_user(GROWER, '1024', env={'PATH': os.environ.get('PATH', '')})
    started.append(grower)
    run = RunStart.begin(Selection(tag=new_run_id()), shm_cleanup=False)
    grow(grower)
    end = end_run(run, tolerance_bytes=TOLERANCE)
    check = end.verification
    assert check.clean, check.line
    assert check.line.startswith('back at the level before the run; +')
    assert f'foreign-grower (pid {grower.pid}, user {OTHER}) +' in check.line
    assert check.attribution.foreign_bytes > 1024 * MIB - TOLERANCE
    named = {p: n for p, _, _, n in check.attribution.foreign}
    assert named[grower.pid] >= 1000 * MIB
    assert check.as_dict()['attribution']['foreign'][0]['pid'] == grower.pid
    assert check.as_dict()['elsewhere'] == check.elsewhere


def test_a_tagged_leftover_the_teardown_did_not_stop_is_the_run_s(started):
    """The leftover carries the run's tag; the run spares it, so its teardown leaves it."""
    run_id = new_run_id()
    run = RunStart.begin(Selection(tag=run_id), shm_cleanup=False)
    leftover = subprocess.Popen([sys.executable, '-c', GROWER, '1024'], text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                env=dict(os.environ, EXPCLEAN_RUN_ID=run_id))
    started.append(leftover)
    run.selection = Selection(tag=run_id, spare_pids=(leftover.pid,))
    grow(leftover)
    end = end_run(run, tolerance_bytes=TOLERANCE)
    check = end.verification
    assert not check.clean, (check, end.teardown.summary())
    assert check.line.startswith('not back: RAM +')
    assert check.attribution.run_bytes > TOLERANCE
    assert f'pid {leftover.pid} (' in check.line and 'anonymous, of the run' in check.line
    assert check.attribution.run[0][0] == leftover.pid
    assert leftover.pid not in [p for p, _, _, _ in check.attribution.foreign]
    assert leftover.poll() is None  # the teardown spared it: it is still there


def test_a_run_s_shm_file_a_live_decoy_holds_is_blamed_on_the_run(made):
    paths, procs = made
    # the tests' /dev/shm steps work in a private root; this one needs tmpfs: /dev/shm itself
    run = RunStart(Selection(tag=new_run_id()), take_snapshot(), ShmWatch('/dev/shm'),
                   accounting=Accounting())
    held = write(f'/dev/shm/psm_{token()}', 64 * MIB)
    paths.append(held)
    holder = Proc(held, 'open')
    procs.append(holder)
    end = end_run(run, tolerance_bytes=32 * MIB)  # files are judged exactly
    check = end.verification
    assert not check.clean, check.line
    assert ('/dev/shm', check.shm_excess_bytes) in check.excess
    assert f'held by pid {holder.pid} (' in check.line
    assert check.line.startswith('not back: ')


def test_a_foreign_cpu_burner_during_one_run_flags_that_run_naming_it(tmp_path, started):
    """
    Three runs; a burner of the other user spins during the second only.

    Other sessions of this machine may disturb any run: the first and third are never
    flagged for the burner, nor name it; the second is flagged and names it.
    """
    (tmp_path / 'runs.csv').write_text('secs\n2\n2\n2\n')
    burners = {}

    def on_start(index, position, count):
        if index == 1:
            burner = other_user(BURN)
            started.append(burner)
            assert burner.stdout.readline().strip() == 'burning'
            burners[index] = burner

    def on_finish(record, position, count):
        burner = burners.get(record['index'])
        if burner is not None:
            burner.kill()  # our own child, by its pid
            burner.wait()

    opts = SequencerOptions(sigint_timeout_s=1.0, sigterm_timeout_s=1.0,
                            disturbed_stall_share=1.0, disturbed_foreign_cpu=0.3)
    result = run_batch(load_table(str(tmp_path / 'runs.csv')),
                       [sys.executable, '-c', 'import time; time.sleep({secs})'],
                       str(tmp_path / 'ledger.jsonl'), opts,
                       cleanup=in_process_cleanup(comprehensive=False, wait_time=0.0),
                       on_start=on_start, on_finish=on_finish)
    burner = burners[1]
    named = f'foreign-burner (pid {burner.pid}, user {OTHER})'
    runs = {r['index']: r['disturbance'] for r in result.records}
    assert runs[1]['disturbed'] and named in runs[1]['cause'], runs[1]
    assert burner.pid in [c['pid'] for c in runs[1]['foreign']]
    assert next(c for c in runs[1]['foreign'] if c['pid'] == burner.pid)['cpu_s'] > 0.3
    for index in (0, 2):
        assert named not in runs[index]['cause'], runs[index]
        assert burner.pid not in [c['pid'] for c in runs[index]['foreign']], runs[index]
    ledger = read_ledger(str(tmp_path / 'ledger.jsonl'))
    assert ledger.finished[1]['disturbance'] == runs[1]


def test_without_pressure_files_the_stalls_come_from_proc_stat_with_the_reason(tmp_path):
    missing = str(tmp_path / 'no-pressure')
    run = RunStart.begin(Selection(tag=new_run_id()), shm_cleanup=False, pressure_root=missing)
    end = end_run(run)
    seen = end.disturbance
    assert seen.source == 'proc/stat'
    assert seen.reason.startswith(f'{missing} unreadable (')
    assert 'stalls from /proc/stat' in seen.reason
    assert seen.stall['memory'] is None
    assert 0.0 <= seen.stall['cpu'] <= 1.0 and 0.0 <= seen.stall['io'] <= 1.0
    assert end.disturbance.as_dict()['source'] == 'proc/stat'
    unreadable = tmp_path / 'a-file'
    unreadable.write_text('')
    assert Pressure.read(str(unreadable)).source == 'proc/stat'


def test_quick_settling_waits_for_the_run_s_writeback(tmp_path):
    """A run wrote 512 MiB without fsync: quick settling waits until it is written back."""
    level = writeback_bytes()
    with open(tmp_path / 'bag.db3', 'wb') as f:
        for _ in range(1024):  # until 64 MiB wait for the disk (a fast one takes more)
            f.write(b'\1' * MIB)
            if writeback_bytes() > level + 64 * MIB:
                break
    if not writeback_bytes() > level + 64 * MIB:
        pytest.skip('this machine wrote 1 GiB back as fast as it was written: no run '
                    'writeback to wait for here')
    report = plans.quick(CleanupOptions(writeback_baseline_bytes=level, settle_window_s=0.05,
                                        dds_shm_cleanup=False, shm_cleanup=False), cap_s=120)
    waited = report.settle
    assert waited.settled, waited.reason
    assert waited.writeback_wait_s > 0 and 'for writeback (Dirty+Writeback ' in waited.reason
    assert waited.writeback_bytes <= level + 32 * MIB
    assert waited.as_dict()['writeback_wait_s'] == waited.writeback_wait_s
    assert f'{waited.writeback_wait_s:.2f} s of it for writeback' in report.message


def test_settling_without_a_writeback_level_does_not_watch_it(tmp_path):
    with open(tmp_path / 'bag.db3', 'wb') as f:
        f.write(b'\1' * 256 * MIB)
    waited = settle(30, window_s=0.05)
    assert waited.settled and waited.writeback_wait_s == 0 and waited.writeback_bytes == 0
    assert 'writeback' not in waited.reason


def test_a_quiet_start_waits_out_a_burner_and_says_when_it_gave_up(started):
    burner = other_user(BURN)
    started.append(burner)
    assert burner.stdout.readline().strip() == 'burning'
    busy = Thresholds(stall_share=1.0, foreign_cpu=0.05)
    waited = wait_quiet(1.0, busy, window_s=0.25)
    assert not waited.quiet and waited.waited_s >= 1.0 and waited.windows >= 2
    assert 'CPU s outside the run: ' in waited.cause
    assert f'foreign-burner (pid {burner.pid}, user {OTHER})' in waited.cause
    stop(started)
    calm = Thresholds(stall_share=1.0, foreign_cpu=1000.0)  # nothing here uses 1000 cores
    waited = wait_quiet(30.0, calm, window_s=0.25)
    assert waited.quiet and waited.windows == 1 and waited.cause == ''
    assert waited.as_dict()['quiet'] is True
    with pytest.raises(ValueError, match='quiet start must be a number of seconds'):
        SequencerOptions(quiet_start_s=-1)


def test_expclean_run_shows_the_disturbed_run_and_its_cause(tmp_path, started):
    burner = other_user(BURN)
    started.append(burner)
    assert burner.stdout.readline().strip() == 'burning'
    (tmp_path / 'runs.csv').write_text('secs\n1\n')
    ledger = str(tmp_path / 'ledger.jsonl')
    done = expclean('run', str(tmp_path / 'runs.csv'), '--ledger', ledger, *FAST,
                    '--keep-daemon', '--disturbed-stall-share', '1', '--disturbed-foreign-cpu',
                    '0.05', '--', 'sleep', '{secs}')
    assert done.returncode == 0, done.stderr
    header, row = done.stdout.splitlines()[:2]
    assert header.split()[-1] == 'disturbed' and row.split()[-1] == 'yes', done.stdout
    assert 'run 1; disturbed: ' in done.stdout
    assert f'foreign-burner (pid {burner.pid}, user {OTHER})' in done.stdout
    assert f'foreign-burner (pid {burner.pid}' in done.stderr  # the progress line too
    again = expclean('run', str(tmp_path / 'runs.csv'), '--ledger', ledger, '--resume',
                     '--json', '--', 'sleep', '{secs}')
    assert json.loads(again.stdout.splitlines()[0])['disturbed'] is True
    bad = expclean('run', str(tmp_path / 'runs.csv'), '--ledger', str(tmp_path / 'l2.jsonl'),
                   '--quiet-start', '0', '--', 'true')
    assert bad.returncode == 1 and 'quiet start must be a number of seconds' in bad.stderr
    assert not os.path.exists(tmp_path / 'l2.jsonl')
