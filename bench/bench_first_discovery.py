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
How long a fresh participant takes to find a long-lived service.

By the server's announcement period: Fast DDS's default (3 s) vs the cleanup node's (0.25 s).

Two trivial rclpy Trigger servers run side by side (started here, stopped by PID), one
per period (a Fast DDS profile file each). Fresh client processes alternate between
them; each measures, inside itself, from its node's creation until the service is
ready (process start-up is left out). Figures: p50, p90, max and how many took over
0.5 s; the ratio of the p90s.

    python bench/bench_first_discovery.py [--runs N] [--quick]
"""

import os
import subprocess
import sys
import tempfile

from bench_node import TRIVIAL_NODE, ros_env, stop
from runs_option import parse_runs

PROFILE = """<?xml version="1.0" encoding="UTF-8" ?>
<dds xmlns="http://www.eprosima.com"><profiles>
  <participant profile_name="p" is_default_profile="true"><rtps><builtin><discovery_config>
    <leaseAnnouncement><sec>{sec}</sec><nanosec>{nsec}</nanosec></leaseAnnouncement>
  </discovery_config></builtin></rtps></participant>
</profiles></dds>
"""
CLIENT = """
import sys, time
import rclpy
from std_srvs.srv import Trigger
rclpy.init()
node = rclpy.create_node('discovery_client')
client = node.create_client(Trigger, sys.argv[1])
start = time.monotonic()
while not client.service_is_ready():
    rclpy.spin_once(node, timeout_sec=0.01)
print(f'{time.monotonic() - start:.4f}')
node.destroy_node()
rclpy.shutdown()
"""
PERIODS = (('3 s', 3, 0), ('0.25 s', 0, 250000000))


def quantiles(values):
    ordered = sorted(values)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]


def main(argv=None):
    runs = parse_runs(argv, __doc__, default=20, quick=6, unit='clients per period')
    times = {label: [] for label, _, _ in PERIODS}
    with tempfile.TemporaryDirectory() as tmp:
        servers = []
        try:
            for i, (label, sec, nsec) in enumerate(PERIODS):
                profile = os.path.join(tmp, f'p{i}.xml')
                with open(profile, 'w') as f:
                    f.write(PROFILE.format(sec=sec, nsec=nsec))
                env = dict(ros_env(), FASTDDS_DEFAULT_PROFILES_FILE=profile)
                with open(os.path.join(tmp, f's{i}.log'), 'wb') as log:
                    servers.append(subprocess.Popen(
                        [sys.executable, '-c', TRIVIAL_NODE, f'/disc{os.getpid()}_{i}'],
                        env=env, stdin=subprocess.DEVNULL, stdout=log,
                        stderr=subprocess.STDOUT, start_new_session=True))
            for _ in range(runs + 1):  # the first round only warms up
                for i, (label, _, _) in enumerate(PERIODS):
                    done = subprocess.run(
                        [sys.executable, '-c', CLIENT, f'/disc{os.getpid()}_{i}/trivial/trigger'],
                        env=ros_env(), stdin=subprocess.DEVNULL, capture_output=True,
                        text=True, timeout=60)
                    times[label].append(float(done.stdout.split()[-1]))
        finally:
            for server in servers:
                stop(server)
    print(f'{runs} fresh clients per server, alternating; discovery only (node made -> service '
          f'ready); load average {os.getloadavg()[0]:.1f}:')
    print('| server re-announces every | p50 | p90 | max | over 0.5 s |')
    print('|---|---|---|---|---|')
    for label, values in times.items():
        values = values[1:]
        p50, p90 = quantiles(values)
        slow = sum(v > 0.5 for v in values)
        print(f'| {label} | {p50:.2f} s | {p90:.2f} s | {max(values):.2f} s | {slow} of '
              f'{len(values)} |')
    base, ours = quantiles(times['3 s'][1:])[1], quantiles(times['0.25 s'][1:])[1]
    print(f'ratio p90 0.25 s / 3 s: {ours / base:.2f}x')
    return 0


if __name__ == '__main__':
    sys.exit(main())
