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
Quick / comprehensive cleanup wall time vs the original script's fixed sleeps, and settling delay.

Baseline, measured in the same run: the original script's plans with their fixed sleeps,
i.e. ``clear_gpu``'s 2 s plus ``wait_time`` (quick 5 s, comprehensive 10 s),
around the same steps (``settle=False``). With ``--computed-baseline`` the
sleeps are not run: the baseline is the same steps plus 7 s / 12 s added.
expclean: the drop-in ``quick_cleanup()`` / ``comprehensive_cleanup()`` with
their defaults (settling, the wait time is only the cap).

Settling delay: a child allocates 1 GiB, then frees it at once; the delay is
from the child's timestamp after its last ``free`` to ``settle()`` returning.

Run: AMENT_PREFIX_PATH=$PWD/.venv-kilted ROS_DOMAIN_ID=41 \
     ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST .venv-kilted/bin/python bench/bench_cleanup.py \
     [--runs N] [--computed-baseline]
"""

import argparse
import dataclasses
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'expclean_ros', 'test'))

from expclean_ros import cleanup_utils  # noqa: E402
from expclean_ros.core.cleanup import plans  # noqa: E402
from expclean_ros.core.memory.settle import settle  # noqa: E402
from helpers.alloc_child import AllocChild  # noqa: E402

SEED_CLEAR_GPU_SLEEP_S = 2.0
SEED_WAIT_S = {'quick': 5.0, 'comprehensive': 10.0}


def _options():
    """
    Return the drop-in's options.

    Without a test domain, no pattern teardown (shared machine).
    """
    domain = os.environ.get('ROS_DOMAIN_ID', '')
    if domain.isdigit() and domain != '0':
        return cleanup_utils.default_options(), f'pattern teardown on ROS domain {domain}'
    return plans.CleanupOptions(), 'no teardown (set ROS_DOMAIN_ID != 0 to include it)'


def _timed(fn):
    start = time.monotonic()
    report = fn()
    return time.monotonic() - start, report


def _seed(plan, options, computed):
    fixed = dataclasses.replace(options, settle=False)
    run = getattr(plans, plan)
    if computed:
        took, _ = _timed(lambda: run(fixed, cap_s=0))
        return took + SEED_CLEAR_GPU_SLEEP_S + SEED_WAIT_S[plan]
    start = time.monotonic()
    time.sleep(SEED_CLEAR_GPU_SLEEP_S)  # the original script's clear_gpu()
    run(fixed, cap_s=SEED_WAIT_S[plan])
    return time.monotonic() - start


def _settle_delay(runs):
    delays, settled_s = [], []
    for _ in range(runs):
        child = AllocChild(total_mib=1024, step_mib=64, step_s=0.0, free_step_s=0.0)
        try:
            child.wait_for('allocated')
            settle(10.0)  # quiet before the free
            child.free()
            result = settle(10.0)
            returned = time.monotonic()
            freed = child.wait_for('freed', 5)
            if not result.settled:
                raise SystemExit(f'did not settle: {result}')
            delays.append(returned - freed)
            settled_s.append(result.seconds)
        finally:
            child.close()
    return delays, settled_s


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=3, help='repetitions (e.g. 3)')
    parser.add_argument('--computed-baseline', action='store_true',
                        help='add the original script\'s sleeps instead of running them')
    args = parser.parse_args(argv)
    options, what = _options()
    print(f'expclean cleanup benchmark ({what}; {args.runs} runs, median)', flush=True)
    rows = []
    for plan, target in (('quick', 30.0), ('comprehensive', 20.0)):
        seed = _seed(plan, options, args.computed_baseline)
        drop_in = getattr(cleanup_utils, f'{plan}_cleanup')
        ours = statistics.median(
            _timed(lambda: drop_in(verbose=False, options=options))[0] for _ in range(args.runs))
        rows.append((plan, seed, ours, seed / ours, target))
    kind = 'computed' if args.computed_baseline else 'measured'
    seed = f'original script ({kind})'
    print(f'{"plan":<14} {seed:>18} {"expclean":>10} {"speed-up":>9} {"target":>7}')
    for plan, seed, ours, ratio, target in rows:
        flag = 'ok' if ratio >= target else 'MISSED'
        print(f'{plan:<14} {seed:>16.2f} s {ours:>8.3f} s {ratio:>8.0f}x {target:>5.0f}x {flag}')
    delays, settled_s = _settle_delay(args.runs)
    worst = max(delays)
    print('settle delays (s): ' + ' '.join(f'{d:.3f}' for d in delays))
    print(f'settle after a child frees 1 GiB: delay median {statistics.median(delays):.3f} s, '
          f'max {worst:.3f} s (target <= 0.5 s: {"ok" if worst <= 0.5 else "MISSED"}); '
          f'settle() took median {statistics.median(settled_s):.3f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
