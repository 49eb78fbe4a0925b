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

"""The batch sequencer on real process trees: teardown per run, ledger, timeouts, bad input."""

import json

import pytest

from expclean_ros.core.runs.ledger import read_ledger
from expclean_ros.core.runs.run_table import load_table, template_fields
from expclean_ros.core.runs.options import SequencerOptions
from expclean_ros.core.runs.records import in_process_cleanup
from expclean_ros.core.runs.sequencer import run_batch
from helpers.experiment import TEMPLATE, tagged_with_mark, write_table


def quick_opts(**kw):
    kw.setdefault('sigint_timeout_s', 1.0)
    kw.setdefault('sigterm_timeout_s', 1.0)
    return SequencerOptions(**kw)


def test_five_runs_each_start_clean_and_ledger_complete(tmp_path, mark):
    out = tmp_path / 'out'
    out.mkdir()
    rows = [(0.2, 0), (0.3, 1), (0.2, 0), (0.2, 7), (0.2, 0)]
    table = load_table(write_table(tmp_path / 'runs.csv', rows, out))
    ledger = str(tmp_path / 'ledger.jsonl')
    result = run_batch(table, TEMPLATE, ledger, quick_opts(),
                       cleanup=in_process_cleanup(comprehensive=False, wait_time=0.0))
    records = [json.loads(line) for line in open(ledger)]
    runs = [r for r in records if r['type'] == 'run']
    assert [r['index'] for r in runs] == [0, 1, 2, 3, 4]
    assert len([r for r in records if r['type'] == 'started']) == 5
    for i, r in enumerate(runs):
        start = json.load(open(out / f'start-{i}.json'))
        assert start['foreign'] == {}, f'run {i} started beside leftovers {start["foreign"]}'
        assert start['run_id'] == r['run_id']
        assert len(start['pids']) >= 3  # experiment, child, orphan (+ grandchild, forking)
        assert r['exit_code'] == rows[i][1]
        assert r['status'] == ('ok' if rows[i][1] == 0 else 'failed')
        assert r['duration_s'] >= rows[i][0]  # the run's own sleep (a sleep never ends early)
        assert r['teardown']['stopped'] >= 3 and r['teardown']['left'] == 0
        assert r['leftovers'] == []
        assert r['cleanup']['plan'] == 'quick'
        assert r['cleanup']['skipped'] == (i == 4)
        for key in ('before', 'peak', 'after_teardown', 'after'):
            assert r['memory'][key]['ram_used_bytes'] > 0
        assert r['overhead_s'] >= 0
    assert tagged_with_mark(mark) == {}
    assert [r['run_id'] for r in result.all_records] == [r['run_id'] for r in runs]


def test_timeout_is_torn_down_and_batch_goes_on(tmp_path, mark):
    """
    The first run sleeps 600 s: only its timeout can end it (it would exit 0 on its own).

    The timeout is doubled until the run had started its children before it fired (on a loaded
    machine the experiment may not get that far in 1.5 s).
    """
    for timeout_s in (1.5, 3.0, 6.0, 12.0, 24.0, 48.0):
        out = tmp_path / f'out{timeout_s:g}'
        out.mkdir()
        table = load_table(write_table(tmp_path / f'runs{timeout_s:g}.csv',
                                       [(600, 0), (0.1, 0)], out))
        ledger = str(tmp_path / f'ledger{timeout_s:g}.jsonl')
        result = run_batch(table, TEMPLATE, ledger, quick_opts(timeout_s=timeout_s),
                           cleanup=in_process_cleanup(comprehensive=False, wait_time=0.0))
        if (out / 'start-0.json').exists():  # written once its children were started
            break
    first, second = result.records
    assert first['status'] == 'timed_out', first
    assert f'timed out after {timeout_s:g} s' in first['detail']
    assert first['duration_s'] >= timeout_s
    assert first['exit_code'] is not None and first['exit_code'] != 0
    assert first['teardown']['stopped'] >= 4 and first['leftovers'] == []
    assert second['status'] == 'ok'
    assert json.load(open(out / 'start-1.json'))['foreign'] == {}
    assert tagged_with_mark(mark) == {}


def test_command_that_cannot_start_is_recorded(tmp_path):
    table = load_table(write_table(tmp_path / 'runs.csv', [(0, 0), (0, 0)], tmp_path))
    ledger = str(tmp_path / 'l.jsonl')
    result = run_batch(table, [str(tmp_path / 'no-such-program'), '{code}'], ledger,
                       quick_opts(), cleanup=in_process_cleanup(False, 0.0))
    assert [r['status'] for r in result.records] == ['error', 'error']
    assert 'could not start' in result.records[0]['detail']


@pytest.mark.parametrize('template, rows, message', [
    (['echo', '{bag}'], 'out,secs,code\nx,1,0\n', 'has no such column'),
    (['echo', '{out}'], 'out,secs,code\n', 'empty'),
    (['echo', '{out'], 'out,secs,code\nx,1,0\n', 'bad command template'),
    ([], 'out,secs,code\nx,1,0\n', 'template is empty'),
])
def test_bad_input_fails_before_first_run(tmp_path, template, rows, message):
    (tmp_path / 'runs.csv').write_text(rows)
    ledger = tmp_path / 'l.jsonl'
    with pytest.raises(ValueError, match=message):
        table = load_table(str(tmp_path / 'runs.csv'))
        run_batch(table, template, str(ledger))
    assert not ledger.exists()


def test_unwritable_ledger_and_foreign_ledger_refused(tmp_path):
    table = load_table(write_table(tmp_path / 'runs.csv', [(0, 0)], tmp_path))
    other = load_table(write_table(tmp_path / 'other.csv', [(0, 1)], tmp_path))
    with pytest.raises(ValueError, match='does not exist'):
        run_batch(table, ['true'], str(tmp_path / 'missing' / 'l.jsonl'))
    with pytest.raises(ValueError, match='cannot write ledger'):
        run_batch(table, ['true'], str(tmp_path))  # a directory
    ledger = str(tmp_path / 'l.jsonl')
    run_batch(table, ['true'], ledger, cleanup=in_process_cleanup(False, 0.0))
    with pytest.raises(ValueError, match='belongs to another table'):
        run_batch(other, ['true'], ledger, resume=True)
    with pytest.raises(ValueError, match='pass --resume'):
        run_batch(table, ['true'], ledger)
    again = run_batch(table, ['true'], ledger, resume=True)
    assert again.records == () and again.skipped == (0,)


def test_tables_csv_yaml_and_fingerprint(tmp_path):
    (tmp_path / 'a.csv').write_text('bag, model\nx.db3,m1\n\ny.db3,m2\n')
    (tmp_path / 'b.yaml').write_text('runs:\n  - {bag: x.db3, model: m1}\n'
                                     '  - {bag: y.db3, model: m2}\n')
    a, b = load_table(str(tmp_path / 'a.csv')), load_table(str(tmp_path / 'b.yaml'))
    assert a.rows == b.rows and a.columns == ('bag', 'model')
    assert a.fingerprint == b.fingerprint
    (tmp_path / 'c.csv').write_text('bag,model\nx.db3,m1\ny.db3,m3\n')
    assert load_table(str(tmp_path / 'c.csv')).fingerprint != a.fingerprint
    assert template_fields(['{bag}', 'x:={model}', '{{literal}}']) == ('bag', 'model')
    (tmp_path / 'd.csv').write_text('run_index\n1\n')
    with pytest.raises(ValueError, match='reserved'):
        load_table(str(tmp_path / 'd.csv'))


def test_torn_last_line_is_skipped_and_mended(tmp_path):
    table = load_table(write_table(tmp_path / 'runs.csv', [(0, 0), (0, 0)], tmp_path))
    ledger = tmp_path / 'l.jsonl'
    run_batch(table, ['true'], str(ledger), cleanup=in_process_cleanup(False, 0.0))
    lines = ledger.read_text().splitlines()
    ledger.write_text('\n'.join(lines[:-1]) + '\n' + lines[-1][:40])  # killed mid-write
    state = read_ledger(str(ledger))
    assert state.torn_lines == 1 and sorted(state.finished) == [0]
    assert [s['index'] for s in state.interrupted] == [1]
    result = run_batch(table, ['true'], str(ledger), resume=True,
                       cleanup=in_process_cleanup(False, 0.0))
    assert [r['index'] for r in result.records] == [1]
    assert sorted(read_ledger(str(ledger)).finished) == [0, 1]


def test_cleanup_gets_the_memory_before_the_run_once_teardown_left_none(tmp_path, mark):
    out = tmp_path / 'out'
    out.mkdir()
    table = load_table(write_table(tmp_path / 'runs.csv', [(0.2, 0), (0.2, 0), (0.2, 0)], out))
    ledger = str(tmp_path / 'ledger.jsonl')
    inner = in_process_cleanup(comprehensive=False)
    given = []

    def cleanup(run_index, total_runs, baseline=None):
        given.append(baseline)
        return inner(run_index, total_runs, baseline=baseline)
    result = run_batch(table, TEMPLATE, ledger, quick_opts(), cleanup=cleanup)
    assert len(given) == 3
    for record, baseline in zip(result.records, given):
        assert record['teardown']['left'] == 0 and record['teardown']['stopped'] >= 3
        assert baseline is not None
        assert baseline.ram_used_bytes == record['memory']['before']['ram_used_bytes']
        assert record['cleanup']['skipped'] or record['cleanup']['settled']
    assert tagged_with_mark(mark) == {}
