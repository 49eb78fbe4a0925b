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
End to end: repeated runs of an rclpy pipeline under real ``ros2 launch``, ended by Ctrl-C.

(a) plain ``ros2 launch`` of the pipeline (baseline), then (b) the same
launch file through ``wrap.launch.py``. The pipeline's talker double-forks a
helper node that outlives it; its listener ignores SIGINT. Per run: processes
left, /dev/shm growth, RAM drift, seconds from Ctrl-C until launch had exited
(the next run could start). Leftovers of (a) accumulate over its runs (as on a
real machine), then are stopped by this bench's own mark before (b). The helper
holds a shared-memory buffer of ``HELPER_SHM_MIB`` (a leaky pipeline: each helper
left pins it in RAM); the bench removes the buffers of its own mark at the end.

Run: ``python bench/bench_e2e.py [--runs N] [--ledgers DIR]`` (with the project venv and
ROS env). ``--ledgers DIR`` also writes ``DIR/plain.jsonl`` and ``DIR/wrap.jsonl`` (see
``e2e_ledger.py``) for ``expclean report DIR/plain.jsonl DIR/wrap.jsonl``.
"""

import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'expclean_ros', 'test'))

from helpers import rosproc  # noqa: E402
from e2e_ledger import ModeLedger  # noqa: E402
from runs_option import parse_runs  # noqa: E402
from expclean_ros.core.units import MIB  # noqa: E402

HELPER_SHM_MIB = 32


def _remove_buffers(mark):
    """Return the helpers' buffers of this bench's own mark (pipeline.py names them)."""
    for name in os.listdir('/dev/shm'):
        if name.startswith(f'psm_e2e_{mark}_'):
            os.unlink(os.path.join('/dev/shm', name))


def _ledger_dir(argv):
    """(``--ledgers DIR`` or None, the other arguments)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if '--ledgers' not in argv:
        return None, argv
    at = argv.index('--ledgers')
    if at + 1 >= len(argv) or not os.path.isdir(argv[at + 1]):
        sys.exit('bench_e2e: --ledgers needs an existing folder')
    return argv[at + 1], argv[:at] + argv[at + 2:]


def main(argv=None):
    ledger_dir, argv = _ledger_dir(argv)
    runs = parse_runs(argv, __doc__, default=5, quick=2, unit='runs per mode')
    reason = rosproc.missing_reason()
    if reason:
        print(f'bench_e2e: skipped: {reason}')
        return 0
    mark = rosproc.new_mark()
    os.environ['E2E_HELPER_SHM_MIB'] = str(HELPER_SHM_MIB)
    os.environ.pop('EXPCLEAN_SHM_ROOT', None)  # /dev/shm itself, as on a user's machine
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for mode in ('plain', 'wrap'):
                ledger = (ModeLedger(ledger_dir, mode, runs, ['ros2', 'launch', mode],
                                     rosproc.shm_bytes, lambda: rosproc.marked(mark))
                          if ledger_dir else None)
                for i in range(runs):
                    log = os.path.join(tmp, f'{mode}{i}.log')

                    def one():
                        return rosproc.e2e_run(mode, mark, log)
                    rows.append(ledger.run(i, one) if ledger else one())
                if ledger:
                    ledger.close()
                rosproc.stop_marked(mark)
                _remove_buffers(mark)
    finally:
        rosproc.stop_marked(mark)
        _remove_buffers(mark)
    print('| run | mode | exit | processes left (total) | /dev/shm growth MiB | '
          'RAM drift MiB | s from Ctrl-C to exit |')
    print('|---|---|---|---|---|---|---|')
    names = {'plain': '(a) plain ros2 launch', 'wrap': '(b) wrap.launch.py'}
    for n, r in enumerate(rows, 1):
        print(f"| {n} | {names[r['mode']]} | {r['exit']} | {r['left']} | "
              f"{r['shm_growth'] / MIB:+.2f} | {r['ram_drift'] / MIB:+.1f} | {r['seconds']:.1f} |")
    summary = {}
    for mode in ('plain', 'wrap'):
        mine = [r for r in rows if r['mode'] == mode]
        summary[mode] = {k: sum(r[k] for r in mine) / len(mine)
                         for k in ('shm_growth', 'ram_drift', 'seconds')}
        summary[mode]['left'] = mine[-1]['left']
    a, b = summary['plain'], summary['wrap']
    print(f"\nleft after {runs} runs: (a) {a['left']}, (b) {b['left']}; mean per run: "
          f"/dev/shm growth (a) {a['shm_growth'] / MIB:+.2f} MiB, (b) {b['shm_growth'] / MIB:+.2f}"
          f" MiB; RAM drift (a) {a['ram_drift'] / MIB:+.1f} MiB, (b) {b['ram_drift'] / MIB:+.1f}"
          f" MiB; seconds (a) {a['seconds']:.1f}, (b) {b['seconds']:.1f} "
          f"(ratio b/a {b['seconds'] / a['seconds']:.2f})")
    return 0 if b['left'] == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
