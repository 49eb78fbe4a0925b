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
Fan-out over hosts: one caller calls the cleanup nodes of 1, 2, 4 and 8 hosts at once.

Hosts are those of the test rig (``expclean_ros/test/helpers/hostrig.py``: network, PID, mount
and UTS namespaces joined by veths, DDS by ``ROS_STATIC_PEERS``); one cleanup node per
host, the caller on a host of its own. One long-lived client (entities made up front)
times each fan-out call, ``~/quick`` and ``~/between_runs`` (quick, no wait) on the
first N nodes at once; the host counts alternate within each round. Figures: p50 and
p90 per host count, and the ratio of 8 hosts to 1 (goal: at most 1.5).
Needs root (namespaces); otherwise it says so and exits 0.

    python bench/bench_fanout_hosts.py [--runs N] [--quick]
"""

import json
import os
import sys
import tempfile

from runs_option import parse_runs

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'expclean_ros', 'test'))
COUNTS = (1, 2, 4, 8)

CALLER = """
import json, sys, time
from expclean_interfaces.srv import CleanupBetweenRuns
from std_srvs.srv import Trigger
from expclean_ros.ros.client import CleanupClient
runs, nodes = int(sys.argv[1]), sys.argv[2:]
counts = (1, 2, 4, 8)
with CleanupClient(name='bench_fanout') as client:
    for node in nodes:
        client.prepare(Trigger, f'{node}/quick', 60)
        client.prepare(CleanupBetweenRuns, f'{node}/between_runs', 60)
    times = {f'{kind} {n}': [] for kind in ('quick', 'between_runs', 'slowest') for n in counts}
    def between():
        return CleanupBetweenRuns.Request(run_index=0, total_runs=2, comprehensive=False,
                                          wait_time_s=0.0)
    for round_ in range(runs + 1):  # round 0 warms up
        for n in counts:
            for kind, srv, make in (('quick', Trigger, Trigger.Request),
                                    ('between_runs', CleanupBetweenRuns, between)):
                start = time.perf_counter()
                answers = client.call_many(srv, [f'{x}/{kind}' for x in nodes[:n]], make,
                                           timeout_s=60)
                took = time.perf_counter() - start
                if not all(getattr(a, 'success', False) for a in answers.values()):
                    raise SystemExit(f'{kind} on {n} hosts: {answers}')
                if round_:
                    times[f'{kind} {n}'].append(took)
                    if kind == 'between_runs':  # the slowest node's own time for its cleanup
                        times[f'slowest {n}'].append(max(a.report.duration_s
                                                         for a in answers.values()))
print(json.dumps(times))
"""


def quantiles(values):
    ordered = sorted(values)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]


def main(argv=None):
    runs = parse_runs(argv, __doc__, default=10, quick=3, unit='rounds')
    from helpers.hostrig import Rig, skip_reason
    why = skip_reason()
    if why:
        print(f'bench_fanout_hosts: skipped: {why}')
        return 0
    names = ['caller'] + [f'h{i}' for i in range(1, 9)]
    node = [sys.executable, '-m', 'expclean_ros.ros.node']
    with tempfile.TemporaryDirectory() as tmp, Rig(names) as rig:
        logs = []
        for name in names[1:]:
            path = os.path.join(tmp, f'{name}.log')
            with open(path, 'wb') as log:
                rig[name].popen([*node, '--ros-args', '-r', f'__ns:=/{name}', '-p',
                                 'publish_rate:=0.0'], stdout=log, stderr=log)
            logs.append(path)
        done = rig['caller'].run([sys.executable, '-c', CALLER, str(runs),
                                  *[f'/{n}/cleanup' for n in names[1:]]], timeout=1800)
        if done.returncode != 0:
            print(done.stderr[-2000:])
            return 1
    times = json.loads(done.stdout.splitlines()[-1])
    print(f'{runs} rounds, host counts alternating; one fan-out call, sent to answered; '
          f'load average {os.getloadavg()[0]:.1f}:')
    print('| call | hosts | p50 | p90 | p50 vs 1 host |')
    print('|---|---|---|---|---|')
    labels = {'quick': '`~/quick`', 'between_runs': '`~/between_runs`',
              'slowest': "(the slowest node's own between_runs time)"}
    for kind, label in labels.items():
        one = quantiles(times[f'{kind} 1'])[0]
        for n in COUNTS:
            p50, p90 = quantiles(times[f'{kind} {n}'])
            print(f'| {label} | {n} | {p50:.3f} s | {p90:.3f} s | {p50 / one:.2f}x |')
    for kind in ('quick', 'between_runs'):
        ratio = quantiles(times[f'{kind} 8'])[0] / quantiles(times[f'{kind} 1'])[0]
        print(f'goal: {kind}, 8 hosts at most 1.5x of 1: {ratio:.2f}x,',
              'met' if ratio <= 1.5 else 'NOT met')
    return 0


if __name__ == '__main__':
    sys.exit(main())
