"""Whole-process time of `expclean call quick` vs `ros2 service call` of the same service.

Both are the user's own first call: a fresh process that starts, discovers the
node, calls its quick cleanup, prints the answer and exits. They alternate
against one real cleanup node (started here, stopped by PID), so both see the
same machine; the figure is the median of each and their ratio (goal: ours no
slower than the anchor, ratio <= 1.0).

    python bench/bench_cli_call.py [--runs N] [--quick]
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from bench_node import node_argv, ros_env, spawn, stop
from runs_option import parse_runs

BIN = os.path.dirname(sys.executable)


def _command(name):
    path = os.path.join(BIN, name)
    return path if os.access(path, os.X_OK) else shutil.which(name)


def timed(argv, expect):
    """Seconds from start to exit of ``argv``; it must exit 0 and print ``expect``."""
    start = time.perf_counter()
    done = subprocess.run(argv, env=ros_env(), stdin=subprocess.DEVNULL, capture_output=True,
                          universal_newlines=True, timeout=120)
    seconds = time.perf_counter() - start
    if done.returncode != 0 or expect not in done.stdout:
        raise RuntimeError(f'{" ".join(argv)} failed ({done.returncode}): '
                           f'{done.stdout[-300:]} {done.stderr[-300:]}')
    return seconds


def main(argv=None):
    runs = parse_runs(argv, __doc__, default=15, quick=6, unit='calls of each kind')
    ros2, expclean = _command('ros2'), _command('expclean')
    if ros2 is None or expclean is None:
        print('bench_cli_call: skipped: no ros2 command (make setup beside ../shared/upstream)')
        return 0
    namespace = f'/bench_cli_{os.getpid()}'
    node = f'{namespace}/cleanup'
    ours = [expclean, 'call', node, 'quick']
    anchor = [ros2, 'service', 'call', f'{node}/quick', 'std_srvs/srv/Trigger']
    with tempfile.TemporaryDirectory() as tmp:
        server = spawn(node_argv(1, namespace), os.path.join(tmp, 'node.log'))
        try:
            timed(anchor, 'success=True')  # the node is up and has answered once
            times = {'ours': [], 'anchor': []}
            for _ in range(runs):
                times['ours'].append(timed(ours, 'quick ok'))
                times['anchor'].append(timed(anchor, 'success=True'))
        finally:
            stop(server)
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med['ours'] / med['anchor']
    print(f'{runs} calls each, alternating, one node; whole process, start to exit:')
    print('| path | median | min | max |')
    print('|---|---|---|---|')
    for key, label in (('ours', '`expclean call quick`'),
                       ('anchor', '`ros2 service call .../quick std_srvs/srv/Trigger`')):
        print(f'| {label} | {med[key]:.2f} s | {min(times[key]):.2f} s | '
              f'{max(times[key]):.2f} s |')
    print(f'ratio ours/anchor: {ratio:.2f}x')
    print('goal: no slower than the anchor (ratio <= 1.0):', 'met' if ratio <= 1.0 else 'NOT met')
    return 0


if __name__ == '__main__':
    sys.exit(main())
