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
Whole-process time of `expclean call quick` vs `ros2 service call` of the same service.

Both are the user's own first call: a fresh process that starts, discovers the
node, calls its quick cleanup, prints the answer and exits. Two real cleanup
nodes run (started here, stopped by PID): one as shipped, which re-announces its
participant every 0.25 s (ros/announce.py), and one with Fast DDS's default of
every 3 s (a profile file saying so), the baseline. The four kinds of call
alternate within one run; the figures are p50 and p90 of each and the ratios
(goals: p90 of `expclean call quick` at most 1 s; ours no slower than the anchor).

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
    runs = parse_runs(argv, __doc__, default=20, quick=6, unit='calls of each kind')
    ros2, expclean = _command('ros2'), _command('expclean')
    if ros2 is None or expclean is None:
        print('bench_cli_call: skipped: no ros2 command (make setup beside ../shared/upstream)')
        return 0
    kinds = {}
    with tempfile.TemporaryDirectory() as tmp:
        profile = os.path.join(tmp, 'default_period.xml')
        with open(profile, 'w') as f:
            f.write(DEFAULT_PERIOD)
        servers = []
        try:
            shipped, fastdds_default = {}, {'FASTDDS_DEFAULT_PROFILES_FILE': profile}
            for label, extra in (('0.25 s', shipped), ('3 s', fastdds_default)):
                namespace = f'/bench_cli_{os.getpid()}_{len(servers)}'
                with open(os.path.join(tmp, f'node{len(servers)}.log'), 'wb') as log:
                    servers.append(subprocess.Popen(
                        node_argv(1, namespace), env=dict(ros_env(), **extra),
                        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                        start_new_session=True))
                node = f'{namespace}/cleanup'
                kinds[('ours', label)] = ([expclean, 'call', node, 'quick'], 'quick ok')
                kinds[('anchor', label)] = ([ros2, 'service', 'call', f'{node}/quick',
                                             'std_srvs/srv/Trigger'], 'success=True')
            for argv_, expect in kinds.values():
                timed(argv_, expect)  # each node is up and has answered once
            times = {key: [] for key in kinds}
            for _ in range(runs):
                for key, (argv_, expect) in kinds.items():
                    times[key].append(timed(argv_, expect))
        finally:
            for server in servers:
                stop(server)
        found = discovery(runs, tmp)
    load = os.getloadavg()[0]
    print(f'{runs} calls of each kind, alternating, two nodes; whole process, start to exit; '
          f'load average {load:.1f}:')
    print('| call | node re-announces every | p50 | p90 | max |')
    print('|---|---|---|---|---|')
    names = {'ours': '`expclean call quick`',
             'anchor': '`ros2 service call .../quick std_srvs/srv/Trigger`'}
    for (who, period), values in times.items():
        p50, p90 = quantiles(values)
        print(f'| {names[who]} | {period} | {p50:.2f} s | {p90:.2f} s | {max(values):.2f} s |')
    ours, base = quantiles(times[('ours', '0.25 s')]), quantiles(times[('ours', '3 s')])
    anchor = quantiles(times[('anchor', '0.25 s')])
    print(f'ratio ours p90, 0.25 s / 3 s node: {ours[1] / base[1]:.2f}x; ours/anchor p50 '
          f'{ours[0] / anchor[0]:.2f}x, p90 {ours[1] / anchor[1]:.2f}x (same node)')
    print('goal: p90 of expclean call quick <= 1 s:', 'met' if ours[1] <= 1.0 else 'NOT met')
    print()
    print(discovery_table(found, runs))
    return 0


if __name__ == '__main__':
    sys.exit(main())
