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
``expclean run --shard K/N``: rows K, K+N, ...; a ledger per shard.

Bad shards refused before any run; a real single-host Slurm job array of 3 shards.
"""

import json
import os
import sys

import pytest

from expclean_ros.core.runs.shards import parse_shard, shard_rows
from helpers.slurmrig import Slurm, skip_reason

EXPCLEAN = os.path.join(os.path.dirname(sys.executable), 'expclean')
ROWS = 7


def expclean(*args, timeout=180, env=None):
    import subprocess
    return subprocess.run([EXPCLEAN, *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env=env)


def lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


@pytest.fixture
def table(tmp_path):
    path = tmp_path / 'runs.csv'
    path.write_text('n\n' + ''.join(f'{i * 10}\n' for i in range(ROWS)))
    return str(path)


def run_shard(table, ledger, shard, out, *extra):
    return expclean('run', table, '--ledger', str(ledger), '--shard', shard, '--no-cleanup',
                    *extra, '--', 'sh', '-c', f'echo {{run_index}}:{{n}} >> {out}')


@pytest.mark.parametrize('text', ['3/3', '4/3', '-1/3', '1/0', '0/0', 'a/b', '1', '1/3/5',
                                  '', ' /3', '1.0/3', '0x1/3', '9999999/10000000'])
def test_a_bad_shard_is_refused_with_the_rule(text):
    with pytest.raises(ValueError, match=r'--shard'):
        parse_shard(text)


def test_shard_rows_cover_the_table_once():
    covered = sorted(i for k in range(3) for i in shard_rows(ROWS, (k, 3)))
    assert covered == list(range(ROWS))
    assert shard_rows(ROWS, (2, 3)) == (2, 5)
    with pytest.raises(ValueError, match='has no rows: the table has only 7'):
        shard_rows(ROWS, (7, 8))


def test_a_shard_runs_its_rows_and_names_itself_in_an_ordinary_ledger(table, tmp_path):
    out, ledger = tmp_path / 'out.txt', tmp_path / 'ledger-1.jsonl'
    done = run_shard(table, ledger, '1/3', out)
    assert done.returncode == 0, done.stderr
    assert out.read_text().split() == ['1:10', '4:40']  # global indexes and rows
    header, *rest = lines(ledger)
    assert header['type'] == 'header' and header['shard'] == {'index': 1, 'count': 3}
    assert header['total_runs'] == ROWS
    assert [r['index'] for r in rest if r['type'] == 'run'] == [1, 4]


def test_bad_shards_and_foreign_ledgers_are_errors_before_any_run(table, tmp_path):
    out = tmp_path / 'out.txt'
    for shard in ('3/3', 'x', '8/9'):
        done = run_shard(table, tmp_path / 'l.jsonl', shard, out)
        assert done.returncode == 1 and done.stderr.startswith('expclean: error: '), done.stderr
        assert '--shard' in done.stderr or 'has no rows' in done.stderr
        assert not os.path.exists(tmp_path / 'l.jsonl')
    first = tmp_path / 'ledger-0.jsonl'
    assert run_shard(table, first, '0/3', out).returncode == 0
    written = out.read_text()
    # shard 1 continuing shard 0's ledger: refused, nothing runs
    done = run_shard(table, first, '1/3', out, '--resume')
    assert done.returncode == 1 and 'written for shard 0/3, not for shard 1/3' in done.stderr
    other = tmp_path / 'other.csv'
    other.write_text('n\n1\n2\n3\n')
    done = run_shard(str(other), first, '0/3', out, '--resume')
    assert done.returncode == 1 and 'belongs to another table' in done.stderr
    assert out.read_text() == written


_WHY = skip_reason()


@pytest.mark.skipif(_WHY is not None, reason=str(_WHY))
def test_a_slurm_job_array_of_three_shards_writes_three_ledgers_that_cover_the_table(
        table, tmp_path):
    out = tmp_path / 'out.txt'
    command = (f'{EXPCLEAN} run {table} --ledger {tmp_path}/ledger-$SLURM_ARRAY_TASK_ID.jsonl '
               f'--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT --quick --wait 0 '
               f'-- sh -c "echo {{run_index}}:$SLURM_ARRAY_TASK_ID >> {out}"')
    with Slurm(tmp_path / 'slurm') as slurm:
        done = slurm.run(['sbatch', '--array=0-2', '--wait', f'--chdir={tmp_path}',
                          f'--output={tmp_path}/job-%a.out', '--wrap', command], timeout=300)
        assert done.returncode == 0, (done.stdout, done.stderr,
                                      [slurm.read(f'../job-{i}.out') for i in range(3)])
    headers, runs = [], []
    for k in range(3):
        header, *rest = lines(tmp_path / f'ledger-{k}.jsonl')
        headers.append(header)
        runs += [r for r in rest if r['type'] == 'run']
    assert [h['shard'] for h in headers] == [{'index': k, 'count': 3} for k in range(3)]
    assert len({h['fingerprint'] for h in headers}) == 1
    assert sorted(r['index'] for r in runs) == list(range(ROWS))
    assert all(r['status'] == 'ok' for r in runs)
    ran = sorted(tuple(map(int, line.split(':'))) for line in out.read_text().split())
    assert ran == [(i, i % 3) for i in range(ROWS)]  # row i ran in array task i mod 3
    merged = expclean('report', *[str(tmp_path / f'ledger-{k}.jsonl') for k in range(3)],
                      '--json')
    assert merged.returncode == 0, merged.stderr
    report = json.loads(merged.stdout)
    assert sorted(r['run'] for r in report['runs']) == list(range(1, ROWS + 1)), report['summary']
    assert [f['runs'] for f in report['ledgers']] == [3, 2, 2]
