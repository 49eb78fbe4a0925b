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

r"""
A 2 s experiment under ``ros2 launch`` with verified cleanup vs a plain ``ros2 launch``.

Anchor, measured in the same run: ``ros2 launch anchor.launch.py``, a file
holding only the experiment (``ExecuteProcess`` ``sleep 2`` whose exit shuts
launch down). Ours, each with ``cleanup:=comprehensive`` (the default) and
``cleanup:=quick``: ``ros2 launch expclean_ros experiment_with_cleanup.launch.py
experiment:='sleep 2'`` and ``ros2 launch expclean_ros wrap.launch.py
file:=anchor.launch.py`` (run tag, cleanup node, teardown and the cleanup call
when the experiment exits). All alternate, run by run. Each figure is the wall
time from starting ``ros2 launch`` until it has exited, minus the experiment's
2 s; the cost of a variant is its median minus the anchor's (goal: at most
0.3 s). A run of ours counts only if it exited 0, logged the cleanup node's
answer and left no process behind. Before each run an untimed ``ros2 launch
... --show-args`` of the same file warms the page cache again (the
comprehensive plan, run as root, drops it).

The timeline gives, as medians, when each phase after the experiment's exit
was logged by launch (bench/launch_timeline.py): the teardown, /dev/shm, the
ros2 daemon, the cleanup call, the cleanup node's SIGINT and exit, launch's exit.

Run: AMENT_PREFIX_PATH=$PWD/.venv-kilted ROS_DOMAIN_ID=41 \\
     ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST .venv-kilted/bin/python \\
     bench/bench_launch_cleanup.py [--runs N] [--quick] [--only quick,wrap_quick]

``--only`` runs the anchor and the variants named (comprehensive, quick, wrap, wrap_quick).
"""

import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'expclean_ros', 'test'))
sys.path.insert(0, HERE)

from helpers import rosproc  # noqa: E402
from launch_timeline import Stamps, table  # noqa: E402
from runs_option import parse_runs  # noqa: E402

EXPERIMENT_S = 2.0
GOAL_S = 0.3  # cost beyond the anchor
ANCHOR_LAUNCH = ('from launch import LaunchDescription\n'
                 'from launch.actions import EmitEvent, ExecuteProcess\n'
                 'from launch.events import Shutdown\n\n\n'
                 'def generate_launch_description():\n'
                 '    return LaunchDescription([ExecuteProcess(\n'
                 f"        cmd=['sleep', '{EXPERIMENT_S:g}'], name='experiment',\n"
                 "        output='screen',\n"
                 "        on_exit=[EmitEvent(event=Shutdown(reason='experiment exited'))])])\n")
#: variant -> (name in the tables, launch file of ours or None for the anchor, plan)
VARIANTS = {
    'anchor': ('plain ros2 launch (anchor)', None, None),
    'comprehensive': ('experiment_with_cleanup, comprehensive',
                      'experiment_with_cleanup.launch.py', 'comprehensive'),
    'quick': ('experiment_with_cleanup, cleanup:=quick',
              'experiment_with_cleanup.launch.py', 'quick'),
    'wrap': ('wrap anchor.launch.py, comprehensive', 'wrap.launch.py', 'comprehensive'),
    'wrap_quick': ('wrap anchor.launch.py, cleanup:=quick', 'wrap.launch.py', 'quick'),
}


def _args(variant, anchor_path):
    _, launch_file, plan = VARIANTS[variant]
    if launch_file is None:
        return [rosproc.ros2(), 'launch', anchor_path]
    what = (f'experiment:=sleep {EXPERIMENT_S:g}' if launch_file.startswith('experiment')
            else f'file:={anchor_path}')
    return [rosproc.ros2(), 'launch', 'expclean_ros', launch_file, what, f'cleanup:={plan}']


def one_run(variant, anchor_path, log_path, mark):
    """
    ``((beyond, started, after), timeline)`` of one run.

    Seconds beyond the experiment, until launch had started it, from its end until launch had
    exited; the timeline of the phases after the experiment's exit. RuntimeError if it failed.
    """
    # untimed: reads what launch and the launch file import back into the page cache, which
    # the comprehensive plan (as root) drops: every run, anchor included, starts warm
    subprocess.run([*_args(variant, anchor_path), '--show-args'], stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120,
                   env=rosproc.marked_env(mark))
    stamps = Stamps()
    started = re.compile(r'\[experiment-\d+\]: process started')
    times = {}
    start = time.monotonic()
    proc = subprocess.Popen(_args(variant, anchor_path), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=rosproc.marked_env(mark), start_new_session=True)

    def read():
        with open(log_path, 'w') as log:
            for line in proc.stdout:
                now = time.monotonic() - start
                log.write(f'{now:8.3f} {line}')
                stamps.line(line, now)
                if 'started' not in times and started.search(line):
                    times['started'] = now
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        code = proc.wait(120)
    except subprocess.TimeoutExpired:
        code = None
    took = time.monotonic() - start
    reader.join(10)
    with open(log_path) as f:
        text = f.read()
    left = rosproc.marked(mark)
    rosproc.stop_marked(mark)
    timeline = stamps.relative(took)
    plan = VARIANTS[variant][2]
    if (code != 0 or left or 'started' not in times or not timeline
            or (plan is not None and f'/cleanup {plan}: ok' not in text)):
        raise RuntimeError(f'{variant} run failed (exit {code}, {len(left)} processes left):\n'
                           f'{text[-3000:]}')
    ended = took - timeline['launch exit']
    return (took - EXPERIMENT_S, times['started'], took - ended), timeline


def _only(argv):
    """Return the variants to run (the anchor always) and ``argv`` without ``--only NAMES``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if '--only' not in argv:
        return list(VARIANTS), argv
    at = argv.index('--only')
    names = argv[at + 1].split(',') if at + 1 < len(argv) else []
    wrong = [n for n in names if n not in VARIANTS or n == 'anchor']
    if not names or wrong:
        sys.exit(f'bench_launch_cleanup: --only takes variants out of '
                 f'{", ".join(v for v in VARIANTS if v != "anchor")}, got {names}')
    return ['anchor'] + names, argv[:at] + argv[at + 2:]


def main(argv=None):
    variants, argv = _only(argv)
    runs = parse_runs(argv, __doc__, default=7, quick=3, unit='runs of each launch')
    reason = rosproc.missing_reason()
    if reason:
        print(f'bench_launch_cleanup: skipped: {reason}')
        return 0
    mark = rosproc.new_mark()
    rows = {v: [] for v in variants}  # (beyond, started, after) per run
    timelines = {v: [] for v in variants}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            anchor_path = os.path.join(tmp, 'anchor.launch.py')
            with open(anchor_path, 'w') as f:
                f.write(ANCHOR_LAUNCH)
            for i in range(runs):
                for variant in variants:
                    log_path = os.path.join(tmp, f'{variant}{i}.log')
                    row, timeline = one_run(variant, anchor_path, log_path, mark)
                    rows[variant].append(row)
                    timelines[variant].append(timeline)
    except RuntimeError as exc:
        print(f'bench_launch_cleanup: {exc}')
        return 1
    finally:
        rosproc.stop_marked(mark)
    _report(runs, rows, timelines)
    return 0


def _report(runs, rows, timelines):
    print(f'ros2 launch of a {EXPERIMENT_S:g} s experiment, {runs} alternating runs each; '
          'seconds from starting ros2 launch to its exit, beyond the experiment (and, as '
          'medians, until launch had started it and from its end until launch had exited):')
    print('| launch | median s beyond | runs (s) | cost vs anchor (s) | experiment started '
          '| exit after it |')
    print('|---|---|---|---|---|---|')
    medians = {v: [statistics.median(r[i] for r in rows[v]) for i in range(3)] for v in rows}
    anchor = medians['anchor'][0]
    for variant in rows:
        name = VARIANTS[variant][0]
        beyond, started, after = medians[variant]
        figures = ' '.join(f'{r[0]:.2f}' for r in rows[variant])
        print(f'| {name} | {beyond:.2f} | {figures} | {beyond - anchor:+.2f} | {started:.2f} | '
              f'{after:.2f} |')
    print('\ntimeline (medians; when launch printed each phase):')
    print('\n'.join(table({VARIANTS[v][0]: t for v, t in timelines.items()})))
    costs = {v: medians[v][0] - anchor for v in rows if v != 'anchor'}
    worst = max(costs.values())
    verdict = 'met' if worst <= GOAL_S else 'NOT met'
    shown = ', '.join(f'{v} {c:+.2f} s' for v, c in costs.items())
    print(f'\ngoal <= {GOAL_S:g} s beyond plain ros2 launch: {verdict} ({shown}; anchor '
          f'{anchor:.2f} s beyond the experiment)')


if __name__ == '__main__':
    sys.exit(main())
