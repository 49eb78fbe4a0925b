"""Whole-process time of `expclean call quick` vs `ros2 service call` of the same service.

Both are the user's own first call: a fresh process that starts, discovers the
node, calls its quick cleanup, prints the answer and exits. They alternate
against one real cleanup node (started here, stopped by PID), so both see the
same machine; the figure is the median of each and their ratio (goal: ours no
slower than the anchor, ratio <= 1.0).

Then discovery, as ``expclean nodes`` and ``--all`` do it: against three namespaced
nodes, each try a fresh participant (a new CleanupClient) that looks until the graph has
been quiet for the default window (``find_cleanup_nodes()``); how many tries found all
three, and how long each took against tries told to expect three (``expect=3``, the
baseline, alternating). test_fanout.py asserts discovery with ``expect`` only: how
often the quiet window alone misses a node on a loaded machine is this figure.

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


def discovery(tries, tmp):
    """Fresh participants finding three nodes: default quiet window vs expect=3."""
    from expclean_ros.ros.client import CleanupClient
    names = [f'/bench_fan{i}_{os.getpid()}' for i in range(3)]
    nodes = [spawn(node_argv(1, ns), os.path.join(tmp, f'fan{i}.log'))
             for i, ns in enumerate(names)]
    wanted = {f'{ns}/cleanup' for ns in names}
    out = {'quiet': [], 'expect': []}
    try:
        with CleanupClient(name='bench_fan_warm') as client:  # all three up before timing
            if not wanted <= set(client.find_cleanup_nodes(timeout_s=60, expect=3)):
                raise RuntimeError('the three nodes never appeared')
        for _ in range(tries):
            for kind, expect in (('quiet', 0), ('expect', 3)):
                start = time.perf_counter()
                with CleanupClient(name='bench_fan') as client:
                    found = client.find_cleanup_nodes(timeout_s=60, expect=expect)
                out[kind].append((time.perf_counter() - start, len(wanted & set(found))))
    finally:
        for node in nodes:
            stop(node)
    return out


def discovery_table(out, tries):
    lines = [f'{tries} fresh participants of each kind, alternating, three nodes:',
             '| discovery | found all 3 | median | max |', '|---|---|---|---|']
    for kind, label in (('quiet', 'default quiet window (`expclean nodes`)'),
                        ('expect', 'expect=3 (`--expect 3`, baseline)')):
        secs = [t for t, _ in out[kind]]
        full = sum(n == 3 for _, n in out[kind])
        lines.append(f'| {label} | {full} of {tries} | {statistics.median(secs):.2f} s | '
                     f'{max(secs):.2f} s |')
    ratio = (statistics.median(t for t, _ in out['quiet'])
             / statistics.median(t for t, _ in out['expect']))
    lines.append(f'ratio quiet/expect (median): {ratio:.2f}x')
    return '\n'.join(lines)


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
        found = discovery(runs, tmp)
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
    print()
    print(discovery_table(found, runs))
    return 0


if __name__ == '__main__':
    sys.exit(main())
