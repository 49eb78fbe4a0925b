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
The cost of accounting a run on a shared machine, against a plain /proc scan.

The process table is brought to about ``--processes`` (default 400) with idle
children of this bench (``sleep``, stopped by pid at the end). Then, each measured
``--rounds`` times, median in ms:

- baseline: ``proctable.snapshot()``, the teardown engine's plain scan of /proc;
- the records a run's start takes (:class:`Baseline` and :class:`Pressure`);
- the accounting at its end: the disturbance (a table, the pressure, the judgement)
  plus the attribution after the cleanup (a table, the accounting, the run's tag
  looked up in the new processes);
- ``smaps_rollup`` against ``statm`` per process of the machine (the sleepers left
  out): why unique memory is read only for a big process of the run.

Goal: start + end accounting at most 20 ms on 400 processes.

Run: .venv-kilted/bin/python bench/bench_attribution.py [--processes 400] [--rounds 30]
"""

import argparse
import statistics
import subprocess
import time

from expclean_ros.core.memory.attribution import Baseline, attribute
from expclean_ros.core.procs import proctable
from expclean_ros.core.procs.selection import Selection
from expclean_ros.core.runs.accounting import run_member
from expclean_ros.core.runs.disturbance import Pressure, judge


def _ms(fn, rounds):
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def _per_file_us(name, pids):
    t = time.perf_counter()
    n = 0
    for pid in pids:
        try:
            proctable.read_bytes(f'/proc/{pid}/{name}')
            n += 1
        except OSError:
            pass
    return (time.perf_counter() - t) * 1e6 / max(n, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    ap.add_argument('--processes', type=int, default=400)
    ap.add_argument('--rounds', type=int, default=30)
    args = ap.parse_args()
    sleepers = []
    machine = list(proctable.snapshot())  # the machine's own processes, before the sleepers
    try:
        for _ in range(args.processes - len(machine)):
            sleepers.append(subprocess.Popen(['sleep', '600']))
        time.sleep(0.5)
        count = len(proctable.snapshot())
        selection = Selection(tag='bench-attribution-no-such-run')
        start, pressure = Baseline.take(), Pressure.read()

        def at_start():
            Baseline.take()
            Pressure.read()

        def at_end():
            judge(pressure, Pressure.read(), start, Baseline.take(), run_member(selection))
            attribute(start, Baseline.take(), run_member(selection))

        scan = _ms(proctable.snapshot, args.rounds)
        begin = _ms(at_start, args.rounds)
        end = _ms(at_end, args.rounds)
        smaps, statm = _per_file_us('smaps_rollup', machine), _per_file_us('statm', machine)
    finally:
        for proc in sleepers:  # our own children, by pid
            proc.kill()
            proc.wait()
    print(f'processes: {count} (of them {len(sleepers)} idle children of this bench); '
          f'median of {args.rounds} rounds')
    print('| what | ms | x plain scan |\n|---|---|---|')
    print(f'| plain /proc scan (proctable.snapshot) | {scan:.2f} | 1.00 |')
    print(f'| records at a run\'s start | {begin:.2f} | {begin / scan:.2f} |')
    print(f'| accounting at its end (disturbance + attribution) | {end:.2f} | '
          f'{end / scan:.2f} |')
    print(f'| start + end | {begin + end:.2f} | {(begin + end) / scan:.2f} |')
    print(f'per process of the machine (not the sleepers): smaps_rollup {smaps:.0f} us, '
          f'statm {statm:.0f} us ({smaps / statm:.0f}x)')
    print(f'goal start + end <= 20 ms: {"met" if begin + end <= 20 else "NOT met"}')


if __name__ == '__main__':
    main()
