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
The README's one-line switch on a loop like the original script's.

Run: ``python dropin_loop.py [LEDGER]``.

Each row of ``runs.csv`` runs ``experiment.py``, which leaks a double-forked orphan (its own
session, re-parented to init) that no kill by pattern finds. The drop-in tags what the loop
starts after its import, so each ``cleanup_between_runs`` stops that run's orphan, removes the
run's ``/dev/shm`` files by record and prints the verdict; the ledger is for
``expclean report LEDGER``. See docs/python.md.
"""

import csv
import os
import subprocess
import sys

from expclean_ros.cleanup_utils import cleanup_between_runs

HERE = os.path.dirname(os.path.abspath(__file__))


def main(ledger: str = 'dropin-runs.jsonl') -> None:
    with open(os.path.join(HERE, 'runs.csv'), newline='') as f:
        rows = list(csv.DictReader(f))
    for i, row in enumerate(rows):
        subprocess.run([sys.executable, os.path.join(HERE, 'experiment.py'), row['mb'],
                        row['secs'], row['leak']], check=True)  # carries the run's tag
        cleanup_between_runs(run_index=i, total_runs=len(rows), comprehensive=False,
                             ledger=ledger)


if __name__ == '__main__':
    main(*sys.argv[1:2])
