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

"""``expclean run`` and ``expclean plot`` as real commands: SIGKILL + resume, bad input, plot."""

import json
import struct

import pytest

from helpers.nodes import ros_env, wait_for
from helpers.cli import FAST, expclean, start_runner
from helpers.experiment import TEMPLATE, tagged_with_mark, write_table


def runs(ledger):
    return [json.loads(line) for line in open(ledger) if '"type": "run"' in line]


def test_sigkill_mid_run_then_resume(tmp_path, mark):
    out, table, ledger, log, runner = start_runner(
        tmp_path, [(0.1, 0), (0.1, 0), (600, 0), (0.1, 0), (0.1, 0)])
    try:
        assert wait_for(lambda: (out / 'start-2.json').exists(), 60), 'run 3 never started'
        runner.kill()  # SIGKILL, by pid: our own child
        runner.wait(10)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait(10)
        log.close()
    killed = json.load(open(out / 'start-2.json'))
    alive = tagged_with_mark(mark)
    assert set(killed['pids']) <= set(alive), 'the killed run should outlive its runner'
    before = runs(ledger)
    assert [r['index'] for r in before] == [0, 1]
    (out / 'fast').touch()

    done = expclean('run', table, '--ledger', ledger, '--resume', *FAST, '--', *TEMPLATE)
    assert done.returncode == 0, done.stderr
    assert 'resumed: 2 runs already finished, 1 interrupted run(s) torn down' in done.stderr
    after = runs(ledger)
    assert [r['index'] for r in after] == [0, 1, 2, 3, 4]
    assert after[:2] == before  # no finished run lost or redone
    rerun = after[2]
    assert rerun['run_id'] != killed['run_id'] and rerun['status'] == 'ok'
    assert rerun['recovered']['run_id'] == killed['run_id']
    assert rerun['recovered']['stopped'] >= 3 and rerun['recovered']['left'] == 0
    assert json.load(open(out / 'start-2.json'))['foreign'] == {}
    assert tagged_with_mark(mark) == {}  # no live process of the killed run (or any other)
    assert 'run' in done.stdout and 'ledger:' in done.stdout  # summary table


@pytest.mark.parametrize('rows, command, message', [
    ('out,secs,code\nx,1,0\n', ['echo', '{bag}'], 'uses {bag} but'),
    ('out,secs,code\n', ['echo', '{out}'], 'the runs table is empty'),
    ('out,secs,code\nx,1,0\n', [], 'no command'),
])
def test_bad_input_is_an_error_before_any_run(tmp_path, rows, command, message):
    (tmp_path / 'runs.csv').write_text(rows)
    ledger = tmp_path / 'l.jsonl'
    done = expclean('run', str(tmp_path / 'runs.csv'), '--ledger', str(ledger), *FAST,
                    '--', *command)
    assert done.returncode == 1
    assert done.stderr.startswith('expclean: error: ') and message in done.stderr
    assert not ledger.exists()


def test_unwritable_ledger_is_an_error(tmp_path):
    table = write_table(tmp_path / 'runs.csv', [(0, 0)], tmp_path)
    done = expclean('run', table, '--ledger', str(tmp_path / 'nope' / 'l.jsonl'), '--',
                    'touch', str(tmp_path / 'ran'))
    assert done.returncode == 1 and 'cannot write ledger' in done.stderr
    assert not (tmp_path / 'ran').exists()


def png_size(path):
    with open(path, 'rb') as f:
        head = f.read(24)
    assert head[:8] == b'\x89PNG\r\n\x1a\n' and head[12:16] == b'IHDR'
    return struct.unpack('>II', head[16:24])


def test_plot_one_point_per_run(tmp_path):
    pytest.importorskip('matplotlib', reason='matplotlib not installed (expclean plot needs it)')
    table = write_table(tmp_path / 'runs.csv', [(0, 0)] * 4, tmp_path)
    ledger = str(tmp_path / 'l.jsonl')
    done = expclean('run', table, '--ledger', ledger, *FAST, '--', 'true')
    assert done.returncode == 0, done.stderr
    png = tmp_path / 'memory.png'
    done = expclean('plot', ledger, '-o', str(png), '--size', '6x4', '--dpi', '50')
    assert done.returncode == 0, done.stderr
    assert png_size(png) == (300, 200)
    assert '4 runs' in done.stdout
    for reading in ('before', 'peak', 'after teardown', 'after cleanup'):
        assert f'RAM {reading} (4 points)' in done.stdout, done.stdout
    bad = expclean('plot', str(tmp_path / 'runs.csv'), '-o', str(png))
    assert bad.returncode == 1 and 'expclean: error:' in bad.stderr


def test_via_service_gives_the_same_ledger_fields(tmp_path, start_node):
    table = write_table(tmp_path / 'runs.csv', [(0, 0), (0, 3)], tmp_path)
    local, remote = str(tmp_path / 'local.jsonl'), str(tmp_path / 'remote.jsonl')
    done = expclean('run', table, '--ledger', local, *FAST, '--', 'sh', '-c', 'exit {code}')
    assert done.returncode == 3, done.stderr  # one run exited non-zero
    node = start_node('--ros-args', '-p', 'publish_rate:=0.0', env=ros_env())
    done = expclean('run', table, '--ledger', remote, *FAST, '--via-service',
                    '--service-timeout', '30', '--', 'sh', '-c', 'exit {code}', env=ros_env())
    assert done.returncode == 3, done.stderr + node.log()
    a, b = runs(local), runs(remote)
    assert [r['exit_code'] for r in b] == [0, 3] and [r['status'] for r in b] == ['ok', 'failed']
    for x, y in zip(a, b):
        assert set(x) == set(y)
        assert set(x['cleanup']) == set(y['cleanup']) - {'hosts'}  # one per node
        assert x['cleanup']['plan'] == y['cleanup']['plan'] == 'quick'
        assert x['cleanup']['skipped'] == y['cleanup']['skipped']
        assert set(x['memory']) == set(y['memory'])
    assert b[0]['cleanup']['success'] and not b[0]['cleanup']['skipped']
    # the node has no record of the run: it runs its own /dev/shm step (creator gone), which
    # the in-process plan leaves to the sequencer's record (the ledger's `shm` field)
    assert [s['name'] for s in b[0]['cleanup']['steps'] if s['name'] != 'run_shm'] == \
        [s['name'] for s in a[0]['cleanup']['steps']]
    assert a[0]['shm']['name'] == b[0]['shm']['name'] == 'run_shm'
