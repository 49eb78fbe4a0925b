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
Benchmark the teardown engine against its bounds and the original script's pattern kill.

1. Trees of 10, 100 and 300 real processes, every tenth ignoring SIGINT:
   time until zero are left, against the escalation bound (sum of stage
   timeouts); target within bound + 0.3 s, zero left.
2. The original script's approach on one experiment-like scene, WITHOUT signalling anything:
   which processes a command-line match of 'ros2', 'bag_test.py',
   'ms_test.py' over all processes would have signalled that it must not
   (collateral) and which run processes it would have missed (re-parented,
   renamed); ours must be 0 and 0.
3. Discovery cost per 1000 processes (tag selection over the whole table)
   at several table sizes (the machine's own table filled up with idle
   ``sleep`` processes to about 400, 1000 and 3000, a run of 30 tagged
   processes among them), and for the 300-process tree of part 1 in its
   table; against a psutil scan doing the same in the same run, and the
   goal of 30 ms per 1000 processes.

Run: ``python bench/bench_teardown.py [--quick]`` (with the project venv and ROS env).
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'expclean_ros', 'test'))

from helpers import proctree  # noqa: E402
from expclean_ros.core.procs import proctable  # noqa: E402
from expclean_ros.core.procs.scanner import select  # noqa: E402
from expclean_ros.core.procs.selection import Selection  # noqa: E402
from expclean_ros.core.procs.teardown import teardown  # noqa: E402

TIMEOUTS = dict(sigint_timeout_s=1.0, sigterm_timeout_s=1.0, sigkill_timeout_s=1.0)
BOUND_S = sum(TIMEOUTS.values())
SEED_PATTERNS = ('ros2', 'bag_test.py', 'ms_test.py')
DISCOVERY_GOAL_MS = 30.0  # per 1000 processes on the table, at any table size
TABLE_SIZES = (400, 1000, 3000)
RUN_SIZE = 30


def tag_env(tag, **extra):
    return proctree.scene_env(EXPCLEAN_RUN_ID=tag, **extra)


def bench_trees(repeats):
    rows = []
    for n in (10, 100, 300):
        tag = 'bench-' + uuid.uuid4().hex
        sc = proctree.start_scene(('wide', str(n)), roles={f'p{i}' for i in range(n)},
                                  env=tag_env(tag), timeout_s=120)
        try:
            if n == 300:
                _wait_idle(sc.pids.values())  # 300 starting Pythons would be measured too
                rows_disc = bench_discovery(tag, set(sc.pids.values()), repeats)
            start = time.monotonic()
            result = teardown(Selection(tag=tag), **TIMEOUTS)
            elapsed = time.monotonic() - start
            left = sum(1 for role in sc.pids if sc.alive(role))
            stages = {}
            for p in result.processes:
                stages[p.stage] = stages.get(p.stage, 0) + 1
            rows.append((n, elapsed, BOUND_S, elapsed / BOUND_S, left,
                         elapsed <= BOUND_S + 0.3 and left == 0, stages))
        finally:
            sc.kill_all()
    return rows, rows_disc


def _cpu_ticks(pids):
    total = 0
    for pid in pids:
        try:
            with open(f'/proc/{pid}/stat', 'rb') as f:
                fields = f.read().rsplit(b')', 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total


def _wait_idle(pids, quiet_s=0.3, cap_s=10.0):
    """Wait until ``pids`` used no CPU for ``quiet_s`` (at most ``cap_s``)."""
    deadline = time.monotonic() + cap_s
    last = _cpu_ticks(pids)
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        now = _cpu_ticks(pids)
        if now == last:
            return
        last = now


def bench_discovery(tag, run_pids, repeats):
    """
    (table size, ours, psutil) in ms per 1000 processes: one tag selection, median of ``repeats``.

    Both must choose exactly ``run_pids``.
    """
    import psutil

    def psutil_scan():
        return [p.pid for p in psutil.process_iter(['environ', 'cmdline', 'create_time',
                                                    'uids'])
                if (p.info['environ'] or {}).get('EXPCLEAN_RUN_ID') == tag]
    sel = Selection(tag=tag)
    n = len(proctable.snapshot())
    figures = []
    for scan in (lambda: [c.pid for c in select(sel)], psutil_scan):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            found = scan()
            times.append(time.perf_counter() - start)
            if set(found) != run_pids:
                raise RuntimeError(f'discovery chose {len(found)} processes, not the run\'s '
                                   f'{len(run_pids)}')
        figures.append(statistics.median(times) * 1000 / n * 1000)
    return n, figures[0], figures[1]


def _sleepers(count, env, started):
    """Start ``count`` idle sleepers, each put in ``started`` at once (to be stopped by pid)."""
    new = []
    for _ in range(count):
        new.append(subprocess.Popen(['sleep', '3600'], env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        started.append(new[-1])
    return new


def bench_table_sizes(repeats):
    """Discovery of a run of RUN_SIZE tagged sleepers in tables filled up to each size."""
    tag = 'bench-' + uuid.uuid4().hex
    untagged = proctree.scene_env()
    untagged.pop('EXPCLEAN_RUN_ID', None)
    started = []
    rows = []
    try:
        run = _sleepers(RUN_SIZE, tag_env(tag), started)
        for size in TABLE_SIZES:
            _sleepers(max(0, size - len(proctable.snapshot())), untagged, started)
            rows.append(bench_discovery(tag, {p.pid for p in run}, repeats))
    finally:
        for p in started:
            p.kill()  # by pid: the sleepers this bench started
        for p in started:
            p.wait()
    return rows


def seed_matches():
    """
    Return what a kill by command-line PATTERN would signal.

    The original script's tool spares only itself.
    """
    rx = [re.compile(p) for p in SEED_PATTERNS]
    hit = set()
    for pid in proctable.snapshot():
        if pid == os.getpid():
            continue
        cmd = proctable.read_cmdline(pid)
        if cmd and any(r.search(cmd) for r in rx):
            hit.add(pid)
    return hit


def bench_vs_seed():
    tag = 'bench-' + uuid.uuid4().hex
    tmp = tempfile.mkdtemp(prefix='expclean-bench-')
    os.chmod(tmp, 0o755)  # the other user's decoy runs its script from here
    for name in ('bag_test.py', 'ros2_other_experiment.py'):
        os.symlink(proctree.HERE, os.path.join(tmp, name))
    bag = os.path.join(tmp, 'bag_test.py')
    scenes, decoys = [], {}
    try:
        run = proctree.start_scene(script=bag, env=tag_env(tag))
        scenes.append(run)
        daemon = proctree.start_scene(('idle', '_ros2_daemon'), roles={'_ros2_daemon'},
                                      script=bag, env=tag_env(tag))
        scenes.append(daemon)
        decoys['ros2 daemon in the run (protected)'] = daemon.pids['_ros2_daemon']
        other = proctree.start_scene(('idle', 'nobody'), roles={'nobody'}, script=bag,
                                     env=tag_env(tag), python='/usr/bin/python3',
                                     prefix=('setpriv', '--reuid', 'nobody', '--regid',
                                             'nogroup', '--clear-groups'))
        scenes.append(other)
        decoys["another user's bag_test.py"] = other.pids['nobody']
        look = proctree.start_scene(roles={'decoy'}, script=bag,
                                    env=proctree.scene_env(PROCTREE_ONLY='decoy',
                                                           ROS_DOMAIN_ID='43'))
        scenes.append(look)
        decoys['same command line, no tag, domain 43'] = look.pids['decoy']
        exp2 = proctree.start_scene(('idle', 'exp2'), roles={'exp2'},
                                    script=os.path.join(tmp, 'ros2_other_experiment.py'),
                                    env=proctree.scene_env(ROS_DOMAIN_ID='43'))
        scenes.append(exp2)
        decoys['another experiment (domain 43)'] = exp2.pids['exp2']
        run_set = set(run.pids.values())
        seed = seed_matches()
        seed_collateral = seed - run_set
        seed_missed = run_set - seed
        on_decoys = seed_collateral & set(decoys.values())
        result = teardown(Selection(tag=tag), **TIMEOUTS)
        ours = {p.pid for p in result.processes}
        ours_left = {pid for role, pid in run.pids.items() if run.alive(role)}
        survived = all(proctable.read_proc(pid) is not None for pid in decoys.values())
        missed_roles = sorted(r for r, p in run.pids.items() if p in seed_missed)
        return dict(seed_collateral=len(seed_collateral), seed_on_decoys=len(on_decoys),
                    seed_elsewhere=len(seed_collateral - on_decoys),
                    seed_missed=len(seed_missed), seed_missed_roles=missed_roles,
                    ours_collateral=len(ours - run_set),
                    ours_missed=len((run_set - ours) | ours_left),
                    decoys_survived=survived, run=len(run_set), decoys=decoys)
    finally:
        for sc in scenes:
            sc.kill_all()
        for name in os.listdir(tmp):
            os.unlink(os.path.join(tmp, name))
        os.rmdir(tmp)


def _discovery_line(label, n, ours_ms, base_ms):
    met = 'met' if ours_ms <= DISCOVERY_GOAL_MS else 'NOT met'
    return (f'{label:<34} {n:>6} {ours_ms:>6.1f} {base_ms:>7.1f} {ours_ms / base_ms:>11.2f}   '
            f'{met}')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true',
                        help='fewer repeats of each discovery measurement (3 instead of 9)')
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 9
    trees, tree_disc = bench_trees(repeats)
    print(f'escalation bound = {BOUND_S:.1f} s (SIGINT {TIMEOUTS["sigint_timeout_s"]} + '
          f'SIGTERM {TIMEOUTS["sigterm_timeout_s"]} + SIGKILL {TIMEOUTS["sigkill_timeout_s"]})')
    print(f'{"tree":>6} {"time to zero s":>15} {"bound s":>8} {"ratio":>6} {"left":>5} '
          f'{"target":>7}  stages')
    for n, elapsed, bound, ratio, left, ok, stages in trees:
        print(f'{n:>6} {elapsed:>15.3f} {bound:>8.1f} {ratio:>6.2f} {left:>5} '
              f'{"met" if ok else "MISSED":>7}  {stages}')
    print()
    print(f'discovery: one tag selection, ms per 1000 processes on the table (median of '
          f'{repeats}); anchor: a psutil scan doing the same; goal <= {DISCOVERY_GOAL_MS:g}')
    print(f'{"run on the table":<34} {"table":>6} {"ours":>6} {"psutil":>7} {"ours/psutil":>11}'
          f'   goal')
    for n, ours_ms, base_ms in bench_table_sizes(repeats):
        print(_discovery_line(f'{RUN_SIZE} tagged sleepers', n, ours_ms, base_ms))
    print(_discovery_line('300-process tree of part 1', *tree_disc))
    print()
    cmp = bench_vs_seed()
    print(f'the original script\'s pattern kill {SEED_PATTERNS} vs ours (tag) on one scene '
          f'of {cmp["run"]} run '
          f'processes and {len(cmp["decoys"])} decoys:')
    print(f'{"":>8} {"collateral":>10} {"missed":>7}')
    print(f'{"seed":>8} {cmp["seed_collateral"]:>10} {cmp["seed_missed"]:>7}   '
          f'(collateral: {cmp["seed_on_decoys"]} decoys + {cmp["seed_elsewhere"]} other '
          f'processes on this machine; missed: {", ".join(cmp["seed_missed_roles"])})')
    print(f'{"ours":>8} {cmp["ours_collateral"]:>10} {cmp["ours_missed"]:>7}   '
          f'(decoys all survived: {cmp["decoys_survived"]})')


if __name__ == '__main__':
    main()
