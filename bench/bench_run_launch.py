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
Per-run time of ``expclean run --quick -- ros2 launch PLAIN_LAUNCH`` beyond the experiment.

The experiment: a plain launch file whose one process sleeps 2 s and shuts
launch down when it exits. Figure: the batch's wall time (``expclean``'s own
start included) divided by the number of runs, minus the 2 s experiment: the
``ros2 launch`` start-up and exit, teardown, the quick cleanup, the memory
snapshots and the ledger. Anchor in the same run: a plain ``ros2 launch`` of
the same file, its wall time minus 2 s (the part no runner can remove); the
seed's 10-30 s between runs for reference. Goal: <= 0.5 s per run.

Needs the upstream ``ros2 launch`` (skipped with the reason without it).

    python bench/bench_run_launch.py [--runs N] [--quick]   (10 runs; --quick: 5, the issue's)
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

from helpers import rosproc  # noqa: E402
from runs_option import parse_runs  # noqa: E402

EXPERIMENT_S = 2.0
GOAL_S = 0.5
SEED_MIN_S, SEED_MAX_S = 10.0, 30.0  # original script: "adds 10-30 seconds between runs"
LAUNCH_FILE = f'''from launch import LaunchDescription
from launch.actions import ExecuteProcess, Shutdown


def generate_launch_description():
    return LaunchDescription([ExecuteProcess(cmd=['sleep', '{EXPERIMENT_S:g}'],
                                             on_exit=[Shutdown()])])
'''


def expclean():
    """Return the ``expclean`` command of this environment."""
    script = os.path.join(os.path.dirname(sys.executable), 'expclean')
    return [script] if os.access(script, os.X_OK) else [sys.executable, '-m', 'expclean_ros.cli']


def timed(argv, env, log_path):
    """Run ``argv`` to the end (output to ``log_path``); its wall time in seconds."""
    with open(log_path, 'ab') as log:
        start = time.monotonic()
        code = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=log,
                              stderr=subprocess.STDOUT, timeout=600).returncode
        elapsed = time.monotonic() - start
    if code != 0:
        raise RuntimeError(f'{" ".join(argv[:3])} ... exited with {code}; see {log_path}')
    return elapsed


def main(argv=None):
    runs = parse_runs(argv, __doc__, default=10, quick=5)
    reason = rosproc.missing_reason()
    if reason:
        print(f'bench_run_launch: skipped: {reason}')
        return 0
    mark = rosproc.new_mark()
    env = rosproc.marked_env(mark)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            launch = os.path.join(tmp, 'plain.launch.py')
            with open(launch, 'w') as f:
                f.write(LAUNCH_FILE)
            table = os.path.join(tmp, 'runs.csv')
            with open(table, 'w') as f:
                f.write('i\n' + ''.join(f'{i}\n' for i in range(runs)))
            log = os.path.join(tmp, 'bench.log')
            ledger = os.path.join(tmp, 'runs.jsonl')
            plain = [timed([rosproc.ros2(), 'launch', launch], env, log) for _ in range(runs)]
            batch = timed(expclean() + ['run', table, '--ledger', ledger, '--quick',
                                        '--log-dir', tmp, '--', rosproc.ros2(), 'launch',
                                        launch], env, log)
            records = [r for r in map(json.loads, open(ledger)) if r.get('type') == 'run']
    finally:
        rosproc.stop_marked(mark)
    if len(records) != runs or any(r['status'] != 'ok' for r in records):
        print(f'bench_run_launch: the batch did not finish {runs} runs ok: '
              f'{[r["status"] for r in records]}')
        return 1
    anchor = statistics.median(plain) - EXPERIMENT_S
    ours = batch / runs - EXPERIMENT_S
    between = records[:-1] or records  # the last run has no cleanup after it

    def median(key, rows=between):
        return statistics.median(key(r) for r in rows)
    print(f'{runs} runs of a {EXPERIMENT_S:g} s experiment (ros2 launch of a plain launch file), '
          f'seconds per run beyond the experiment:')
    print(f'  expclean run --quick (batch wall time / runs, expclean start-up included): '
          f'{ours:.3f} s')
    print(f'  anchor, plain ros2 launch of the same file (median): {anchor:.3f} s; '
          f'ratio ours/anchor {ours / anchor:.2f}; ours minus anchor {ours - anchor:+.3f} s')
    print(f'  original script between runs: {SEED_MIN_S:g}-{SEED_MAX_S:g} s, '
          f'{SEED_MIN_S / ours:.0f}-'
          f'{SEED_MAX_S / ours:.0f}x ours')
    print(f'  inside the batch (median per run): run {median(lambda r: r["duration_s"]):.3f} s, '
          f'sequencer overhead {median(lambda r: r["overhead_s"]):.3f} s, cleanup '
          f'{median(lambda r: r["cleanup"]["seconds"]):.3f} s (settle '
          f'{median(lambda r: r["cleanup"]["settle_s"]):.3f} s), teardown '
          f'{median(lambda r: r["teardown"]["seconds"], records):.3f} s')
    print(f'goal <= {GOAL_S:g} s per run: {"met" if ours <= GOAL_S else "NOT met"}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
