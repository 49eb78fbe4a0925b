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
``expclean report`` at scale: a generated ledger of realistic runs, page time and size.

The ledger (default 1000 runs, each in the sequencer's record layout with a GPU,
a teardown that stopped an escaped helper, a cleanup and a slow RAM drift) is
rendered the way ``expclean report LEDGER -o page.html`` does it: read and
parse, judge (fits, outliers), render the HTML with its SVG plots, write the
file. The baseline, measured in the same run, only reads and parses the ledger
(``json.loads`` of every line). Figures: median of 5 repetitions each, the
ratio report / baseline, the real command's time (start-up and imports
included), the page size. Goals: <= 3 s for 1000 runs, < 2 MB.

Run: ``python bench/bench_report.py [--runs N]`` (``--quick``: 200 runs).
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'expclean_ros', 'test'))

from helpers.report_ledgers import MIB, generated_ledger  # noqa: E402
from runs_option import parse_runs  # noqa: E402

from expclean_ros.cli.report_html import render  # noqa: E402
from expclean_ros.core.report import build_report  # noqa: E402

REPEATS = 5


def parse_only(path):
    with open(path, encoding='utf-8') as f:
        return [json.loads(line) for line in f if line.strip()]


def report_page(path, out):
    page = render(build_report([path]))
    with open(out, 'w', encoding='utf-8') as f:
        f.write(page)
    return len(page.encode('utf-8'))


def command(path, out):
    """Return the real ``expclean report`` command, interpreter start-up and imports included."""
    subprocess.run([sys.executable, '-m', 'expclean_ros.cli', 'report', path, '-o', out],
                   check=True, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)


def timed(fn, *args):
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        result = fn(*args)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main(argv=None):
    runs = parse_runs(argv, __doc__, default=1000, quick=200)
    with tempfile.TemporaryDirectory() as tmp:
        ledger = generated_ledger(os.path.join(tmp, 'runs.jsonl'), runs,
                                  drift_per_run=0.5 * MIB, noise_mib=20, gpu=True)
        ledger_mb = os.path.getsize(ledger) / 1e6
        base_s, lines = timed(parse_only, ledger)
        page_s, size = timed(report_page, ledger, os.path.join(tmp, 'report.html'))
        cli_s, _ = timed(command, ledger, os.path.join(tmp, 'cli.html'))
    print('| runs | ledger MB | read+parse s (baseline) | report s | ratio | '
          'expclean report command s | page MB |')
    print('|---|---|---|---|---|---|---|')
    print(f'| {runs} | {ledger_mb:.1f} | {base_s:.3f} | {page_s:.3f} | '
          f'{page_s / base_s:.1f} | {cli_s:.2f} | {size / 1e6:.2f} |')
    print(f'\n{runs} runs ({len(lines)} ledger lines): the report takes {page_s / base_s:.1f}x '
          f'reading and parsing the ledger ({page_s:.2f} s vs {base_s:.3f} s, median of '
          f'{REPEATS}); the whole command {cli_s:.2f} s with start-up; page {size / 1e6:.2f} MB '
          f'(goals: <= 3 s and < 2 MB at 1000 runs)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
