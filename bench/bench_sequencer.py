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
Per-run overhead of ``expclean run``'s sequencer vs the original script's 10-30 s between runs.

Overhead = everything but the experiment: the started line, snapshots, memory
sampling, teardown of the run's tag, the between-runs cleanup (settling, not
sleeping), the leftover check and the fsync'd ledger line: each ledger line's
``overhead_s`` (the run's wall time in the sequencer minus the experiment's own
duration), median over N runs of a short command, one variant leaving a child
and a double-forked orphan behind (so teardown has work). A bare
``subprocess.run`` of the command, measured in the same run, is the baseline.

    python bench/bench_sequencer.py [N]
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'expclean_ros', 'test'))

from helpers.proctree import leaker  # noqa: E402
from expclean_ros.core.runs.options import SequencerOptions  # noqa: E402
from expclean_ros.core.runs.records import in_process_cleanup  # noqa: E402
from expclean_ros.core.runs.run_table import load_table  # noqa: E402
from expclean_ros.core.runs.sequencer import run_batch  # noqa: E402

SEED_MIN_S, SEED_MAX_S = 10.0, 30.0  # original script: "adds 10-30 seconds between runs"
LEAKER = leaker(0.2)


def main(n=6):
    cmd = ['/bin/sh', '-c', 'sleep 0.2']
    start = time.monotonic()
    for _ in range(n):
        subprocess.run(cmd, check=True)
    bare = (time.monotonic() - start) / n
    with tempfile.TemporaryDirectory() as tmp:
        table_path = os.path.join(tmp, 'runs.csv')
        with open(table_path, 'w') as f:
            f.write('i\n' + ''.join(f'{i}\n' for i in range(n)))
        table = load_table(table_path)
        rows = []
        for label, template, cleanup in (
                ('quick, settle (tag teardown of a sh)', cmd, in_process_cleanup(False)),
                ('quick, settle, leaking child tree',
                 [sys.executable, '-c', LEAKER], in_process_cleanup(False)),
                ('comprehensive, settle, leaking tree',
                 [sys.executable, '-c', LEAKER], in_process_cleanup(True))):
            ledger = os.path.join(tmp, f'{len(rows)}.jsonl')
            result = run_batch(table, template, ledger, SequencerOptions())
            overheads = [r['overhead_s'] for r in result.records[:-1]]  # last: no cleanup
            rows.append((label, statistics.median(overheads), max(overheads),
                         statistics.median(r['cleanup']['seconds'] for r in result.records[:-1]),
                         statistics.median(r['teardown']['seconds'] for r in result.records)))
    print(f'runs per batch: {n}; bare subprocess.run of a 0.2 s command: {bare:.3f} s/run')
    print(f'{"batch":<38} {"overhead/run":>12} {"max":>7} {"cleanup":>8} {"teardown":>8} '
          f'{"vs orig 10 s":>12} {"vs orig 30 s":>12}')
    for label, med, worst, clean, tdown in rows:
        print(f'{label:<38} {med:10.3f} s {worst:6.3f}s {clean:7.3f}s {tdown:7.3f}s '
              f'{SEED_MIN_S / med:11.0f}x {SEED_MAX_S / med:11.0f}x')
    print('target: overhead <= 1 s per run:',
          'met' if all(r[1] <= 1.0 for r in rows) else 'NOT met')


if __name__ == '__main__':
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 6)
