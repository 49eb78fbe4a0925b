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
/dev/shm growth over repeated two-node runs ended with SIGKILL, with and without dds_shm.

Each run starts a real rclpy publisher+subscriber pair (Fast DDS), waits until
both receive from each other, then kills both with SIGKILL, as a teardown's
last stage does. Phase 1 (baseline): no cleanup, the residue piles up. Phase 2:
``clean_stale_segments`` after each run. Only files of groups our own nodes
held are counted (other sessions share this /dev/shm), and the step is
restricted to them (``only=``) for the same reason.

Run: AMENT_PREFIX_PATH=$PWD/.venv-kilted ROS_DOMAIN_ID=43 \
     ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST .venv-kilted/bin/python bench/bench_dds_shm.py [runs]
"""

import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'expclean_ros', 'test'))

from expclean_ros.core.memory.dds_shm import clean_stale_segments, shm_usage  # noqa: E402
from helpers.dds_shm import PubSubNodes, group_files  # noqa: E402


def _allocated(names):
    total = 0
    for name in names:
        try:
            total += os.lstat(os.path.join('/dev/shm', name)).st_blocks * 512
        except FileNotFoundError:
            pass
    return total


def _phase(runs, clean, outdir):
    """Return (files, bytes left after each run, step seconds) for one phase."""
    nodes = PubSubNodes(outdir)
    left = []
    step_s = []
    try:
        for i in range(runs):
            names = (f'p{int(clean)}_{i}_a', f'p{int(clean)}_{i}_b')
            topic = f'bench_dds_shm_{int(clean)}_{i}'
            for name in names:
                nodes.start(name, topic)
            if not nodes.wait_talking(names):
                raise RuntimeError('nodes did not talk: ' + nodes.log(names[0]))
            run_locks = set()
            for name in names:
                run_locks |= nodes.lock_files(name)
            for name in names:
                nodes.kill(name)
            if clean:
                start = time.monotonic()
                result = clean_stale_segments(only=run_locks)
                step_s.append(time.monotonic() - start)
                if result.status != 'ok':
                    raise RuntimeError(result.detail)
            files = group_files(nodes.seen)
            left.append((len(files), _allocated(files)))
    finally:
        nodes.close()  # kills what is left, removes our residue
    return left, step_s


def main(argv):
    runs = int(argv[1]) if len(argv) > 1 else 50
    before = shm_usage()
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix='bench_dds_shm_') as outdir:
        without, _ = _phase(runs, False, outdir)
        with_step, step_s = _phase(runs, True, outdir)
    wall = time.monotonic() - t0
    after = shm_usage()
    g_files = without[-1][0] / runs
    g_bytes = without[-1][1] / runs
    w_files, w_bytes = with_step[-1]
    print(f'runs per phase: {runs} (two rclpy nodes per run, SIGKILL), wall {wall:.1f} s')
    print(f'without step: {without[-1][0]} files, {without[-1][1] / 2**20:.2f} MiB left '
          f'after {runs} runs = {g_files:.1f} files, {g_bytes / 1024:.1f} KiB per run')
    print(f'with step:    {w_files} files, {w_bytes / 2**20:.2f} MiB left after {runs} runs '
          f'(max over runs: {max(b for _, b in with_step) / 1024:.1f} KiB)')
    ratio = (w_bytes / without[-1][1]) if without[-1][1] else float('nan')
    print(f'residue ratio with/without step: {ratio:.3f}')
    step_s.sort()
    print(f'step time per call: median {1000 * step_s[len(step_s) // 2]:.2f} ms, '
          f'max {1000 * step_s[-1]:.2f} ms')
    print(f'/dev/shm Fast DDS files before/after the bench (all users, all sessions): '
          f'{before.files}/{after.files} files, {before.bytes / 2**20:.2f}/'
          f'{after.bytes / 2**20:.2f} MiB')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
