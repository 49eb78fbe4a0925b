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
Cleanup plans: quick, comprehensive and between-runs.

Each plan runs its steps in order (a failing step never stops the next), then
waits by settling (see :mod:`..memory.settle`) with the plan's wait time as the cap,
and reports memory before and after in a :class:`CleanupReport`.

- quick: hooks before, teardown, Python/torch memory, settle, hooks after.
- comprehensive: as quick, plus ``drop_caches`` (when allowed) and the guarded
  GPU reset (only when ``allow_gpu_reset``), before settling.
- between_runs: the original script's ``cleanup_between_runs``; nothing to do after the
  last run. Without ``wait_time`` the cap is :func:`auto_cap`. An explicit
  ``wait_time`` keeps the original script's fixed sleep of that many seconds (no
  settling), for callers who rely on it.
"""

import dataclasses
import logging
import time
from dataclasses import dataclass
from typing import Optional, Tuple

from . import PLANS
from ..memory import dds_shm, run_shm
from ..memory.attribution import Baseline, attribute
from . import steps as _steps
from ..memory.probes import MemorySnapshot, take_snapshot
from ..step_result import FAILED, SKIPPED, StepResult, run_step
from ..memory.settle import DEFAULT_WINDOW_S, SettleResult, fixed_wait, settle
from .summary import processes_from_steps, report_line
from .options import CleanupOptions, check_int, check_seconds
from .verify import Verification, verify

__all__ = ['CleanupOptions', 'CleanupReport', 'quick', 'comprehensive', 'between_runs',
           'check_between_runs', 'auto_cap', 'PLANS', 'QUICK_CAP_RANGE',
           'COMPREHENSIVE_CAP_RANGE', 'QUICK_WINDOW_S']

_log = logging.getLogger(__name__)

#: Every value of CleanupReport.plan (a between-runs cleanup runs one of them).
QUICK_CAP_RANGE = (5.0, 15.0)
#: Longest fixed wait between runs: a longer one would hold a node busy for hours.
MAX_WAIT_S = 600.0
COMPREHENSIVE_CAP_RANGE = (10.0, 30.0)
_RUNS_TO_MAX = 100
#: quick plans settle on a shorter quiet window than comprehensive ones (0.3 s).
QUICK_WINDOW_S = 0.15


@dataclass(frozen=True)
class CleanupReport:
    """
    Everything one plan did: steps, memory before/after, how the wait ended.

    ``success`` is True when no step failed (skipped steps and a wait that hit
    its cap are not failures; the message says so). ``skipped`` is True for a
    between-runs call after the last run, which does nothing. ``verification``
    says whether memory is back at its level (None: nothing to compare with).
    """

    plan: str
    success: bool
    message: str
    seconds: float
    steps: Tuple[StepResult, ...]
    memory_before: Optional[MemorySnapshot]
    memory_after: Optional[MemorySnapshot]
    settle: Optional[SettleResult] = None
    processes_stopped: int = 0
    processes_left: int = 0
    skipped: bool = False
    verification: Optional[Verification] = None

    @property
    def clean(self) -> bool:
        """Back at the level (True when nothing was compared)."""
        return self.verification is None or self.verification.clean

    def as_dict(self) -> dict:
        return {'plan': self.plan, 'success': self.success, 'message': self.message,
                'seconds': self.seconds, 'steps': [s.as_dict() for s in self.steps],
                'memory_before': self.memory_before.as_dict() if self.memory_before else None,
                'memory_after': self.memory_after.as_dict() if self.memory_after else None,
                'settle': self.settle.as_dict() if self.settle else None,
                'processes_stopped': self.processes_stopped,
                'processes_left': self.processes_left, 'skipped': self.skipped,
                'verification': self.verification.as_dict() if self.verification else None}


def _hooks(which: str, commands, timeout_s: float):
    return [_steps.run_hook(cmd, timeout_s, name=f'{which}[{i}]')
            for i, cmd in enumerate(commands)]


def _wait(options: CleanupOptions, cap_s: float, full: bool) -> SettleResult:
    if not options.settle:
        return fixed_wait(cap_s, options.stop)
    window = options.settle_window_s
    if window is None:
        window = DEFAULT_WINDOW_S if full else QUICK_WINDOW_S
    return settle(cap_s, tolerance_bytes=options.settle_tolerance_bytes,
                  window_s=window, interval_s=options.settle_interval_s,
                  gpu_baseline_bytes=options.gpu_baseline_bytes,
                  ram_baseline_bytes=options.ram_baseline_bytes, stop=options.stop,
                  writeback_baseline_bytes=options.writeback_baseline_bytes)


def _run(plan: str, options: Optional[CleanupOptions], cap_s: float,
         full: bool) -> CleanupReport:
    options = options if options is not None else CleanupOptions()
    cap_s = check_seconds('cap_s', cap_s)
    start = time.monotonic()
    before = take_snapshot()
    done = _hooks('hook_before', options.hooks_before, options.hook_timeout_s)
    done.append(_steps.teardown_slot(options.teardown))
    if options.dds_shm_cleanup:
        done.append(run_step('dds_shm', dds_shm.clean_stale_segments))
    if options.shm_cleanup:
        done.append(run_step(run_shm.STEP_NAME, run_shm.clean_run_shm))
    done.append(_steps.python_memory())
    if full:
        if options.allow_system_caches:
            done.append(_steps.system_caches())
        else:
            done.append(StepResult('drop_caches', SKIPPED, 'disabled (allow_system_caches '
                                   'is off)', data={'reason': 'disabled'}))
        done.append(_steps.gpu_reset(options.allow_gpu_reset,
                                     timeout_s=options.gpu_reset_timeout_s))
    waited = _wait(options, cap_s, full)
    done += _hooks('hook_after', options.hooks_after, options.hook_timeout_s)
    after = take_snapshot()
    stopped, left = processes_from_steps(done)
    checked = None
    if options.verify_baseline is not None or options.verify_shm is not None:
        share = None
        if options.verify_processes is not None:  # no run told apart: every process counts
            share = attribute(options.verify_processes, Baseline.take(), lambda row: False)
        checked = verify(options.verify_baseline, after, options.verify_shm,
                         tolerance_bytes=options.verify_tolerance_bytes,
                         since=options.verify_since, attribution=share)
    report = CleanupReport(plan=plan, success=not any(s.status == FAILED for s in done),
                           message='', seconds=time.monotonic() - start, steps=tuple(done),
                           memory_before=before, memory_after=after, settle=waited,
                           processes_stopped=stopped, processes_left=left,
                           verification=checked)
    report = dataclasses.replace(report, message=report_line(report))
    _log.info('%s', report.message)
    return report


def quick(options: Optional[CleanupOptions] = None,
          cap_s: float = QUICK_CAP_RANGE[0]) -> CleanupReport:
    """Teardown, Python/torch memory, hooks; settle at most ``cap_s`` (no system caches)."""
    return _run('quick', options, cap_s, full=False)


def comprehensive(options: Optional[CleanupOptions] = None,
                  cap_s: float = COMPREHENSIVE_CAP_RANGE[0]) -> CleanupReport:
    """Quick's steps plus drop_caches and the guarded GPU reset; settle at most ``cap_s``."""
    return _run('comprehensive', options, cap_s, full=True)


def auto_cap(total_runs: int, comprehensive: bool = True) -> float:
    """
    Settling cap for ``total_runs`` runs, growing linearly with the number of runs.

    ``cap = lo + (hi - lo) * min(1, (total_runs - 1) / 100)`` with ``(lo, hi)``
    ``(10, 30)`` s for comprehensive and ``(5, 15)`` s for quick: 1 run -> lo,
    51 runs -> the middle, 101 runs or more -> hi. It bounds settling; it is
    not a sleep.

    >>> auto_cap(1), auto_cap(51), auto_cap(500), auto_cap(11, comprehensive=False)
    (10.0, 20.0, 30.0, 6.0)
    """
    total_runs = check_int('total_runs', total_runs, 1)
    lo, hi = COMPREHENSIVE_CAP_RANGE if comprehensive else QUICK_CAP_RANGE
    return lo + (hi - lo) * min(1.0, (total_runs - 1) / _RUNS_TO_MAX)


def check_between_runs(run_index: Optional[int] = None, total_runs: Optional[int] = None,
                       wait_time: Optional[float] = None
                       ) -> Tuple[Optional[int], Optional[int], Optional[float]]:
    """
    Check the arguments of :func:`between_runs`; return them as numbers.

    :raises ValueError: as :func:`between_runs` states.
    """
    if total_runs is not None:
        total_runs = check_int('total_runs', total_runs, 1)
    if run_index is not None:
        run_index = check_int('run_index', run_index, 0)
    if None not in (run_index, total_runs) and run_index >= total_runs:
        raise ValueError(f'run_index must be < total_runs ({total_runs}), got {run_index}')
    if wait_time is not None:
        wait_time = check_seconds('wait_time', wait_time)
        if wait_time > MAX_WAIT_S:
            raise ValueError(f'wait_time must be at most {MAX_WAIT_S:g} s, got {wait_time:g}')
    return run_index, total_runs, wait_time


def between_runs(run_index: Optional[int] = None, total_runs: Optional[int] = None,
                 comprehensive: bool = True, wait_time: Optional[float] = None,
                 options: Optional[CleanupOptions] = None) -> CleanupReport:
    """
    Run the original script's ``cleanup_between_runs``: clean up after run ``run_index`` (0-based).

    After the last run (``run_index == total_runs - 1``) nothing is done and the
    report has ``skipped=True``. Without ``run_index`` or ``total_runs`` (the
    original script's customization examples, e.g. ``cleanup_between_runs(wait_time=15)``)
    the run is not the last one: the cleanup runs, and the automatic cap is the
    one for a single run. ``wait_time=None``: settle with :func:`auto_cap` as the
    cap. An explicit ``wait_time`` keeps the original script's semantics: a fixed sleep of
    that many seconds, no settling.

    :raises ValueError: ``total_runs`` not an integer >= 1, ``run_index`` not an
        integer in ``[0, total_runs)``, ``wait_time`` negative or not finite
        (bools are rejected as numbers).
    """
    run_index, total_runs, wait_time = check_between_runs(run_index, total_runs, wait_time)
    full = bool(comprehensive)
    plan = 'comprehensive' if full else 'quick'
    if None not in (run_index, total_runs) and run_index == total_runs - 1:
        snap = take_snapshot()
        message = (f'between_runs skipped: run {run_index + 1} of {total_runs} was the last, '
                   f'no {plan} cleanup needed')
        return CleanupReport(plan=plan, success=True, message=message, seconds=0.0, steps=(),
                             memory_before=snap, memory_after=snap, skipped=True)
    options = options if options is not None else CleanupOptions()
    if wait_time is None:
        cap = auto_cap(total_runs or 1, full)
    else:
        cap = wait_time
        options = dataclasses.replace(options, settle=False)
    return _run(plan, options, cap, full)
