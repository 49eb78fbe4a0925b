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
Batch logs.

Numbered as a person reads them, never appended to by another batch, and an interrupted batch says
how to continue it.
"""

import signal
import subprocess
import sys

import pytest

from helpers.nodes import wait_for
from helpers.cli import CLI, FAST, expclean
from helpers.experiment import TEMPLATE, write_table


def _batch(tmp_path, rows, ledger, old_log=None):
    """``expclean run`` of ``rows`` with ``--log-dir``, which may hold an ``old_log`` first."""
    out = tmp_path / 'out'
    out.mkdir()
    logs = tmp_path / 'logs'
    logs.mkdir()
    if old_log:
        (logs / 'run-001.log').write_text(old_log)
    table = write_table(tmp_path / 'runs.csv', rows, out)
    done = expclean('run', table, '--ledger', str(tmp_path / ledger), *FAST,
                    '--log-dir', str(logs), '--', *TEMPLATE)
    return done, out, logs


@pytest.mark.usefixtures('mark')
def test_logs_are_numbered_from_one_and_say_where_a_run_begins(tmp_path):
    done, _, logs = _batch(tmp_path, [(0.1, 0), (0.1, 0)], 'l.jsonl')
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in logs.glob('*.log')) == ['run-001.log', 'run-002.log']
    for number in (1, 2):
        first = (logs / f'run-00{number}.log').read_text().splitlines()[0]
        assert first.startswith(f'=== expclean run {number} of 2, run tag run-'), first


@pytest.mark.usefixtures('mark')
def test_a_new_batch_never_writes_into_another_batchs_logs(tmp_path):
    refused, out, logs = _batch(tmp_path, [(0.1, 0)], 'new.jsonl', 'the old batch\n')
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert 'already holds run logs (run-001.log) of another batch' in refused.stderr
    assert (logs / 'run-001.log').read_text() == 'the old batch\n'
    assert not list(out.glob('start-*.json'))  # refused before the first run


@pytest.mark.usefixtures('mark')
def test_an_interrupted_batch_says_how_to_resume_it(tmp_path):
    out = tmp_path / 'out'
    out.mkdir()
    table = write_table(tmp_path / 'runs.csv', [(60, 0), (0.1, 0)], out)
    ledger = str(tmp_path / 'l.jsonl')
    runner = subprocess.Popen([*CLI, 'run', table, '--ledger', ledger, *FAST, '--',
                               *TEMPLATE], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert wait_for(lambda: (out / 'start-0.json').exists(), 60), 'run 1 never started'
        runner.send_signal(signal.SIGINT)
        _, err = runner.communicate(timeout=60)
    finally:
        if runner.poll() is None:
            runner.kill()  # by pid: our own child
            runner.wait(10)
    assert runner.returncode == 130, err
    assert 'interrupted: stopping run 1 (' in err, err  # the run progress calls run 1
    assert f'continue with:\n  expclean run {table} --ledger {ledger}' in err, err
    assert ' --resume -- ' in err, err
    (out / 'fast').touch()
    resumed = expclean('run', table, '--ledger', ledger, '--resume', *FAST, '--', *TEMPLATE)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr


@pytest.mark.usefixtures('mark')
def test_the_readmes_example_batch_runs_as_written_and_makes_its_log_dir(tmp_path):
    """
    docs/batches.md, "Example (a real run)".

    Examples/runs.csv and examples/experiment.py, the log directory not there yet; each run's
    double-forked orphan is stopped.
    """
    from helpers.paths import REPO_ROOT
    logs = tmp_path / 'logs'
    done = subprocess.run(
        [*CLI, 'run', 'examples/runs.csv', '--ledger', str(tmp_path / 'runs.jsonl'), '--quick',
         '--timeout', '60', '--log-dir', str(logs), '--', sys.executable,
         'examples/experiment.py', '{mb}', '{secs}', '{leak}'],
        cwd=REPO_ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in logs.glob('*.log')) == [f'run-00{n}.log' for n in range(1, 7)]
    rows = [line.split() for line in done.stdout.splitlines() if line.split()[:1] in
            [[str(n)] for n in range(1, 7)]]
    # status, processes stopped, left
    assert [(r[1], r[9], r[10]) for r in rows] == [('ok', '1', '0')] * 6, done.stdout


def test_a_log_dir_that_cannot_be_made_is_refused_before_any_run(tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('not a directory')
    (tmp_path / 'runs.csv').write_text('secs\n0\n')
    done = expclean('run', str(tmp_path / 'runs.csv'), '--ledger', str(tmp_path / 'l.jsonl'),
                    '--log-dir', str(blocker / 'logs'), '--', 'true')
    assert done.returncode == 1 and 'log directory' in done.stderr, done.stderr
    assert not (tmp_path / 'l.jsonl').exists()


@pytest.mark.usefixtures('mark')
def test_the_examples_leaked_orphan_ends_quietly_when_the_teardown_stops_it(tmp_path):
    """examples/experiment.py's orphan is found and stopped, with no traceback in the run's log."""
    from helpers.paths import REPO_ROOT
    (tmp_path / 'runs.csv').write_text('model,mb,secs,leak\nsmall,20,0.2,20\n')
    logs = tmp_path / 'logs'
    done = subprocess.run(
        [*CLI, 'run', str(tmp_path / 'runs.csv'), '--ledger', str(tmp_path / 'runs.jsonl'),
         '--quick', '--timeout', '60', '--log-dir', str(logs), '--', sys.executable,
         'examples/experiment.py', '{mb}', '{secs}', '{leak}'],
        cwd=REPO_ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    row = [line.split() for line in done.stdout.splitlines() if line.split()[:1] == ['1']]
    assert [(r[1], r[9], r[10]) for r in row] == [('ok', '1', '0')], done.stdout
    log = (logs / 'run-001.log').read_text()
    assert 'Traceback' not in log and 'KeyboardInterrupt' not in log, log
    assert 'Traceback' not in done.stdout + done.stderr
