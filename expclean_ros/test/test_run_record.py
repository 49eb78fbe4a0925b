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
The typed run record: a real ``expclean run`` batch's /dev/shm in its report; old ledgers read.

``data/ledger_v1.jsonl`` was written by a real ``expclean run`` of the code before the
record was typed (ledger version 1, no ``shm_used_bytes``): two runs of ``sh -c`` writing
256 and 512 KiB into ``$EXPCLEAN_SHM_ROOT``.
"""

import json
import os
import sys

import pytest

from expclean_ros.cli.run_verb import summary_lines
from expclean_ros.core.report.build import build_report
from expclean_ros.core.runs.ledger import read_ledger
from expclean_ros.core.runs.run_record import LEDGER_VERSION, HeaderRecord, RunRecord

from helpers.report_ledgers import expclean
from helpers.shmscene import token

MIB = 2 ** 20
V1 = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data', 'ledger_v1.jsonl')
# each run leaves LEAK_MIB in the shm root, in a file named by its run number
LEAK_MIB = 2
WRITER = ("import os, sys; open(os.path.join(os.environ['EXPCLEAN_SHM_ROOT'], sys.argv[1]), "
          "'wb').write(b'x' * int(sys.argv[2]))")


def lines(path):
    return [json.loads(line) for line in open(path)]


def test_a_real_batch_reports_dev_shm_and_judges_its_drift(tmp_path, made):
    paths, _ = made
    root = os.environ['EXPCLEAN_SHM_ROOT']  # this test run's own directory (conftest)
    name = f'psm_record_{token()}'
    paths += [os.path.join(root, f'{name}_{n}') for n in range(1, 5)]
    table = tmp_path / 'runs.csv'
    table.write_text('size\n' + f'{LEAK_MIB * MIB}\n' * 4)
    ledger = str(tmp_path / 'runs.jsonl')
    done = expclean('run', str(table), '--ledger', ledger, '--quick', '--wait', '0',
                    '--stop-timeouts', '1,1,1', '--keep-shm', '--keep-daemon', '--',
                    sys.executable, '-c', WRITER, f'{name}_{{run_number}}', '{size}')
    assert done.returncode == 0, done.stderr
    header, *rest = lines(ledger)
    assert header['version'] == LEDGER_VERSION == 2
    runs = [RunRecord.from_dict(r) for r in rest if r['type'] == 'run']
    assert [r.status for r in runs] == ['ok'] * 4
    for r in runs:  # what the run left, kept (--keep-shm), is in its readings
        before, peak, after = r.reading('before'), r.reading('peak'), r.reading('after')
        assert after.shm_used_bytes - before.shm_used_bytes == LEAK_MIB * MIB
        assert r.reading('after_teardown').shm_used_bytes == after.shm_used_bytes
        assert peak.shm_used_bytes >= before.shm_used_bytes
    got = json.loads(expclean('report', ledger, '--json').stdout)
    shm = [r['memory']['/dev/shm'] for r in got['runs']]
    assert [s['after'] - s['before'] for s in shm] == [LEAK_MIB * MIB] * 4
    assert all(s['peak'] is not None and s['after_teardown'] is not None for s in shm)
    verdict = next(v for v in got['verdicts']
                   if v['kind'] == 'drift' and v['numbers']['resource'] == '/dev/shm')
    assert verdict['level'] == 'warn', verdict
    assert verdict['text'].startswith('/dev/shm after cleanup rises 2.0 MiB per run')
    assert abs(verdict['numbers']['slope_bytes_per_run'] - LEAK_MIB * MIB) < 1
    report = build_report([ledger])
    assert '/dev/shm' in report.resources
    assert report.series('/dev/shm')['after'] == [s['after'] for s in shm]


def test_a_ledger_of_version_1_still_reads():
    header, *rest = lines(V1)
    assert header['version'] == 1 and 'shm_used_bytes' not in json.dumps(rest)
    assert HeaderRecord.from_dict(header).readable
    assert HeaderRecord.from_dict(header).as_dict() == header
    runs = [r for r in rest if r['type'] == 'run']
    typed = [RunRecord.from_dict(r) for r in runs]
    assert [t.as_dict() for t in typed] == runs  # written back key for key
    for t in typed:  # the new field is absent, never zero
        for moment in ('before', 'peak', 'after_teardown', 'after'):
            assert t.reading(moment).shm_used_bytes is None
            assert t.reading(moment).ram_used_bytes > 0
        assert t.back.back is True and t.back.verified
    state = read_ledger(V1)
    assert sorted(state.finished) == [0, 1] and state.interrupted == ()
    report = build_report([V1])
    assert len(report.runs) == 2 and report.ledgers[0].notes == ()
    assert 'RAM' in report.resources and '/dev/shm' not in report.resources
    assert [b for b, _ in report.back] == [True, True]
    table = summary_lines(runs)
    assert len(table) == 3 and table[1].split()[:3] == ['1', 'ok', '0']
    assert table[1].split()[-2:] == ['yes', '-']  # back; disturbed: not judged in version 1


def test_a_newer_ledger_is_not_resumed(tmp_path):
    newer = tmp_path / 'v3.jsonl'
    header, *rest = open(V1).read().splitlines(True)
    newer.write_text(header.replace('"version": 1', '"version": 3') + ''.join(rest))
    before = newer.read_bytes()
    with pytest.raises(ValueError, match='format version 3; this expclean writes version 2'):
        read_ledger(str(newer))
    table = tmp_path / 'runs.csv'
    table.write_text('size_kib\n256\n512\n')
    done = expclean('run', str(table), '--ledger', str(newer), '--resume', '--', 'true')
    assert done.returncode == 1 and 'format version 3' in done.stderr, done.stderr
    assert newer.read_bytes() == before


def test_fields_missing_or_mistyped_read_as_absent():
    record = RunRecord.from_dict({'type': 'run', 'index': 3, 'status': 'ok', 'exit_code': True,
                                  'memory': {'before': {'ram_used_bytes': 'lots'}},
                                  'verify': {'clean': 'yes'}, 'leftovers': 'none'})
    assert record.exit_code is None and record.leftovers is None
    assert record.reading('before').ram_used_bytes is None
    assert record.reading('after') is None and record.left == 0
    assert record.back.back is None and record.back.text() == '\u2014'
    assert RunRecord.from_dict(['not', 'a', 'dict']) is None
    assert not HeaderRecord.from_dict({'type': 'header', 'version': 3}).readable
    assert HeaderRecord.from_dict({'type': 'header'}).readable  # before versions
