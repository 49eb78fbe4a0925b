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
Whole-process time of `expclean call quick`, `--all --expect 2` and a wrong name.

Each is the user's own first call: a fresh process that starts, discovers the node(s), calls,
prints the answer and exits. Two real cleanup nodes run (started here, stopped by PID): one as
shipped, which re-announces its participant every 0.25 s (ros/announce.py), and one with Fast
DDS's default of every 3 s (a profile file saying so). The kinds of call alternate within one
run; the figures are p50 and p90 of each and the ratios against `expclean call quick` of the
shipped node, measured in the same run (for `--all`, in its own phase against two shipped
nodes, the 3 s one stopped):

- `ros2 service call` of the same service (the anchor; goal: ours no slower);
- `expclean call quick --all --expect 2` (goal: at most 1.3x one call, p50);
- `expclean call /NS quick`, the node's namespace without `/cleanup` (a wrong name: goal at
  most 2 s, p90; it must say "did you mean /NS/cleanup?").

Then discovery, as ``expclean nodes`` and ``--all`` do it: against three namespaced nodes, each
try a fresh participant (a new CleanupClient) notes when it first sees each node; the largest
gap between sightings (start included) is what the quiet window must outlast. Then how many
tries the default quiet window (discovery.QUIET_S) found all three, and how long each took,
against tries told to expect three (the baseline, alternating).

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
STARTING_S = 16.0


def _command(name):
    path = os.path.join(BIN, name)
    return path if os.access(path, os.X_OK) else shutil.which(name)


def timed(argv, expect, rc=0):
    """Seconds from start to exit of ``argv``; it must exit ``rc`` and print ``expect``."""
    start = time.perf_counter()
    done = subprocess.run(argv, env=ros_env(), stdin=subprocess.DEVNULL, capture_output=True,
                          universal_newlines=True, timeout=120)
    seconds = time.perf_counter() - start
    if done.returncode != rc or expect not in done.stdout + done.stderr:
        raise RuntimeError(f'{" ".join(argv)} failed ({done.returncode}): '
                           f'{done.stdout[-300:]} {done.stderr[-300:]}')
    return seconds


DEFAULT_PERIOD = """<?xml version="1.0" encoding="UTF-8" ?>
<dds xmlns="http://www.eprosima.com"><profiles>
  <participant profile_name="fastdds_default" is_default_profile="true"><rtps><builtin>
    <discovery_config><leaseAnnouncement><sec>3</sec><nanosec>0</nanosec></leaseAnnouncement>
    </discovery_config></builtin></rtps></participant>
</profiles></dds>
"""


def quantiles(values):
    ordered = sorted(values)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]


def sightings(client, wanted, timeout_s=30.0):
    """Return the seconds after ``client`` began at which it first saw each of ``wanted``."""
    from expclean_ros.ros.discovery import served_cleanup_nodes
    start, seen = time.perf_counter(), {}
    while len(seen) < len(wanted) and time.perf_counter() - start < timeout_s:
        for name in set(served_cleanup_nodes(client.node)) & wanted:
            seen.setdefault(name, time.perf_counter() - start)
        client.spin_for(0.01)
    return sorted(seen.values())


def discovery(tries, tmp):
    """Fresh participants finding three nodes: sightings, default quiet window vs expect=3."""
    from expclean_ros.ros.client import CleanupClient
    names = [f'/bench_fan{i}_{os.getpid()}' for i in range(3)]
    nodes = [spawn(node_argv(1, ns), os.path.join(tmp, f'fan{i}.log'))
             for i, ns in enumerate(names)]
    wanted = {f'{ns}/cleanup' for ns in names}
    out = {'quiet': [], 'expect': [], 'gaps': []}
    try:
        with CleanupClient(name='bench_fan_warm') as client:  # all three up before timing
            if not wanted <= set(client.find_cleanup_nodes(timeout_s=60, expect=3)):
                raise RuntimeError('the three nodes never appeared')
        for _ in range(tries):
            with CleanupClient(name='bench_fan_seen') as client:
                times = sightings(client, wanted)
            out['gaps'].append(max(b - a for a, b in zip([0.0] + times, times)))
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
    from expclean_ros.ros.discovery import QUIET_S
    gap50, gap90 = quantiles(out['gaps'])
    lines = [f'{tries} fresh participants of each kind, alternating, three nodes:',
             f'largest gap between first sightings (start included): p50 {gap50:.2f} s, '
             f'p90 {gap90:.2f} s, max {max(out["gaps"]):.2f} s (quiet window {QUIET_S:g} s)',
             '| discovery | found all 3 | median | max |', '|---|---|---|---|']
    for kind, label in (('quiet', f'quiet window {QUIET_S:g} s (`expclean nodes`)'),
                        ('expect', 'expect=3 (`--expect 3`, baseline)')):
        secs = [t for t, _ in out[kind]]
        full = sum(n == 3 for _, n in out[kind])
        lines.append(f'| {label} | {full} of {tries} | {statistics.median(secs):.2f} s | '
                     f'{max(secs):.2f} s |')
    ratio = (statistics.median(t for t, _ in out['quiet'])
             / statistics.median(t for t, _ in out['expect']))
    lines.append(f'ratio quiet/expect (median): {ratio:.2f}x')
    return '\n'.join(lines)


def start_server(tmp, index, extra=None):
    """Start a cleanup node in a namespace of its own; return (process, its full name)."""
    namespace = f'/bench_cli_{os.getpid()}_{index}'
    with open(os.path.join(tmp, f'node{index}.log'), 'wb') as log:
        proc = subprocess.Popen(node_argv(1, namespace), env=dict(ros_env(), **(extra or {})),
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    return proc, f'{namespace}/cleanup'


def single_kinds(node, label, ros2, expclean, wrong=False):
    """Return the calls of one node to time: ours, the anchor and (``wrong``) a wrong name."""
    kinds = {('ours', label): ([expclean, 'call', node, 'quick'], 'quick ok', 0),
             ('anchor', label): ([ros2, 'service', 'call', f'{node}/quick',
                                  'std_srvs/srv/Trigger'], 'success=True', 0)}
    if wrong:
        kinds[('wrong name', label)] = ([expclean, 'call', node.rpartition('/')[0], 'quick'],
                                        f'did you mean {node}?', 1)
    return kinds


def alternate(kinds, runs, times):
    """Time each of ``kinds`` ``runs`` times, alternating, into ``times``; warm up first."""
    time.sleep(STARTING_S)  # past the time a starting node is waited for (discovery.py)
    for argv_, expect, rc in kinds.values():
        timed(argv_, expect, rc)  # each node is up and has answered once
    for _ in range(runs):
        for key, (argv_, expect, rc) in kinds.items():
            times.setdefault(key, []).append(timed(argv_, expect, rc))


def calls(tmp, runs, ros2, expclean):
    """
    Time the calls: a shipped node and a 3 s one; then --all against two shipped nodes.

    The second phase times one call of the first node again, its own baseline.
    """
    profile = os.path.join(tmp, 'default_period.xml')
    with open(profile, 'w') as f:
        f.write(DEFAULT_PERIOD)
    times, servers = {}, []
    try:
        first, node = start_server(tmp, 0)
        slow, slow_node = start_server(tmp, 1, {'FASTDDS_DEFAULT_PROFILES_FILE': profile})
        servers += [first, slow]
        kinds = single_kinds(node, '0.25 s', ros2, expclean, wrong=True)
        kinds.update(single_kinds(slow_node, '3 s', ros2, expclean))
        alternate(kinds, runs, times)
        stop(slow)
        servers.append(start_server(tmp, 2)[0])
        alternate({('ours, phase 2', '0.25 s'): ([expclean, 'call', node, 'quick'], 'quick ok', 0),
                   ('all, expect 2', 'both 0.25 s'): (
                       [expclean, 'call', 'quick', '--all', '--expect', '2'],
                       'answered: quick ok', 0)}, runs, times)
    finally:
        for server in servers:
            stop(server)
    return times


NAMES = {'ours': '`expclean call NODE quick`',
         'ours, phase 2': '`expclean call NODE quick` (beside --all)',
         'anchor': '`ros2 service call NODE/quick std_srvs/srv/Trigger`',
         'all, expect 2': '`expclean call quick --all --expect 2`',
         'wrong name': '`expclean call /NS quick` (a wrong name)'}


def call_table(times, runs):
    load = os.getloadavg()[0]
    print(f'{runs} calls of each kind, alternating, two nodes; whole process, start to exit; '
          f'load average {load:.1f}:')
    print('| call | node re-announces every | p50 | p90 | max |')
    print('|---|---|---|---|---|')
    for (who, period), values in times.items():
        p50, p90 = quantiles(values)
        print(f'| {NAMES[who]} | {period} | {p50:.2f} s | {p90:.2f} s | {max(values):.2f} s |')
    ours, base = quantiles(times[('ours', '0.25 s')]), quantiles(times[('ours', '3 s')])
    anchor = quantiles(times[('anchor', '0.25 s')])
    every = quantiles(times[('all, expect 2', 'both 0.25 s')])
    single = quantiles(times[('ours, phase 2', '0.25 s')])
    wrong = quantiles(times[('wrong name', '0.25 s')])
    print(f'ratio ours p90, 0.25 s / 3 s node: {ours[1] / base[1]:.2f}x; ours/anchor p50 '
          f'{ours[0] / anchor[0]:.2f}x, p90 {ours[1] / anchor[1]:.2f}x (same node)')
    print(f'--all --expect 2 / one call (same phase), p50: {every[0] / single[0]:.2f}x, p90 '
          f'{every[1] / single[1]:.2f}x (goal <= 1.3x: '
          f'{"met" if every[0] <= 1.3 * single[0] else "NOT met"})')
    print(f'wrong name: p90 {wrong[1]:.2f} s, {wrong[1] / ours[1]:.2f}x one call (goal <= 2 s: '
          f'{"met" if wrong[1] <= 2.0 else "NOT met"})')


def main(argv=None):
    runs = parse_runs(argv, __doc__, default=20, quick=6, unit='calls of each kind')
    ros2, expclean = _command('ros2'), _command('expclean')
    if ros2 is None or expclean is None:
        print('bench_cli_call: skipped: no ros2 command (make setup beside ../shared/upstream)')
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        times = calls(tmp, runs, ros2, expclean)
        found = discovery(runs, tmp)
    call_table(times, runs)
    print()
    print(discovery_table(found, runs))
    return 0


if __name__ == '__main__':
    sys.exit(main())
