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
Drop-in replacement for the original script's ``cleanup_utils`` module, on top of expclean's core.

Switch an experiment script with one line::

    from expclean_ros.cleanup_utils import cleanup_between_runs

The eleven functions keep the original script's names, arguments and defaults, and with
``verbose=True`` print each step, its success or failure, and memory before and
after. What changed, on purpose:

- Importing this module gives the calling process a run tag (``EXPCLEAN_RUN_ID`` in
  ``os.environ``, kept when inherited): what the loop starts from then on belongs to
  the current run. The three plans first end that run as ``expclean run`` does
  (:mod:`.cleanup_utils_runs`: every process carrying the tag, double-forked ones
  included, never the loop or its ancestors; its ``/dev/shm`` files by record; the ROS 2
  daemon; the verdict, one more ``verdict:`` line), then a fresh tag starts the next run.
  ``untagged_env()`` starts a process that outlives the runs; ``ledger=`` writes the
  run records ``expclean report`` reads.
- Processes matching the patterns are stopped by the teardown engine, never a kill by
  name: only this user's processes on this ROS domain (``ROS_DOMAIN_ID``, unset = 0)
  whose command line matches, never the caller or its ancestors, the ROS 2 daemon or
  the expclean node/CLI; SIGINT, SIGTERM, SIGKILL escalation; verified.
- ``nvidia-smi --gpu-reset`` runs only when asked (``allow_reset=True``) and is
  refused while any process holds the GPU.
- ``wait_time`` of :func:`comprehensive_cleanup` and :func:`quick_cleanup` is
  a cap on settling (return as soon as memory stops moving), not a sleep; pass
  ``settle=False`` for the original script's fixed sleep. In :func:`cleanup_between_runs`
  an explicit ``wait_time`` keeps the original script's fixed sleep; ``None`` settles with
  the automatic cap (10-30 s comprehensive, 5-15 s quick, see
  :func:`expclean_ros.core.cleanup.plans.auto_cap`).

Return values (the original script did not define them): single steps return ``bool``
(True when the step did its job; a skipped step is False), ``get_memory_usage``
a ``dict`` (:meth:`MemorySnapshot.as_dict`), the three plans a
:class:`~expclean_ros.core.cleanup.plans.CleanupReport` (``.success``, ``.message``).
"""

import contextlib
import dataclasses
from typing import Optional, Sequence

from . import cleanup_utils_runs as runs
from .cleanup_utils_ledger import append_run, check_ledger, record_figures
from .cleanup_utils_runs import (PROTECT, TAG_VARIABLE, current_tag, last_run_end, next_run,
                                 start_run, stop_tagging, untagged_env)
from .core.cleanup import plans, steps
from .core.cleanup.options import check_seconds
from .core.step_result import FAILED, OK, StepResult
from .core.cleanup.summary import memory_line, step_line
from .core.memory.probes import take_snapshot
from .core.procs.selection import Selection
from .core.procs.teardown_step import teardown_step

__all__ = ['clear_gpu', 'clear_gpu_memory', 'clear_python_memory', 'clear_system_cache',
           'kill_ros2_processes', 'kill_python_experiment_processes', 'force_kill_processes',
           'get_memory_usage', 'comprehensive_cleanup', 'quick_cleanup', 'cleanup_between_runs',
           'ROS2_PATTERNS', 'EXPERIMENT_PATTERNS', 'PROTECT', 'default_options',
           'TAG_VARIABLE', 'current_tag', 'untagged_env', 'stop_tagging', 'start_run', 'end_run',
           'run', 'next_run', 'last_run_end', 'record_figures']

#: The ``ros2`` command (launch, run, bag, ...) and nodes started with ROS arguments.
ROS2_PATTERNS = (r'(^|[\s/])ros2(\s|$)', r'(^|\s)--ros-args(\s|$)')
#: The original script's experiment scripts.
EXPERIMENT_PATTERNS = (r'(^|[\s/])bag_test\.py(\s|$)', r'(^|[\s/])ms_test\.py(\s|$)')


def _say(verbose: bool, text: str) -> None:
    if verbose:
        print(f'[cleanup] {text}', flush=True)


def _report_step(result: StepResult, verbose: bool) -> bool:
    mark = {'ok': 'OK', 'skipped': 'SKIPPED', 'failed': 'FAILED'}[result.status]
    _say(verbose, f'{mark:7} {step_line(result)}')
    return result.status == OK


def _teardown(patterns: Sequence[str], force: bool = False) -> StepResult:
    # An experiment script kills what it launched itself (the original script's use):
    # its own children are fair game here, unlike for a node called remotely.
    selection = Selection(patterns=tuple(patterns), protect=PROTECT, spare_own_children=False)
    if force:
        return teardown_step(selection, sigint_timeout_s=0.0, sigterm_timeout_s=0.0)
    return teardown_step(selection)


def clear_gpu(*, verbose: bool = True) -> bool:
    """
    Empty torch's CUDA cache (synchronize, empty_cache, ipc_collect) and collect garbage.

    Only acts on torch already imported by the caller. Unlike the original script, no 2 s sleep.
    """
    return _report_step(steps.python_memory(), verbose)


def clear_gpu_memory(*, verbose: bool = True, allow_reset: bool = False) -> bool:
    """
    Clear GPU memory as the original script did, made safe: reset only if allowed and unused.

    ``nvidia-smi --gpu-reset`` runs only with ``allow_reset=True`` and never
    while a process holds the GPU; torch's cache is cleared in any case.
    True when nothing failed.
    """
    reset = steps.gpu_reset(allow_reset)
    _report_step(reset, verbose)
    cache_ok = _report_step(steps.python_memory(), verbose)
    return cache_ok and reset.status != FAILED


def clear_python_memory(*, verbose: bool = True) -> bool:
    """``gc.collect()`` plus torch's CUDA cache when torch is imported here."""
    return _report_step(steps.python_memory(), verbose)


def clear_system_cache(*, verbose: bool = True) -> bool:
    """``sync`` and drop page cache, dentries and inodes; False (skipped) when not root."""
    return _report_step(steps.system_caches(), verbose)


def kill_ros2_processes(*, verbose: bool = True) -> bool:
    """
    Stop ``ros2`` CLI processes and ``--ros-args`` nodes of this user on this ROS domain.

    The original script killed every ``ros2`` command line; this safe replacement is
    described in the module docstring. True when none is left running.
    """
    return _report_step(steps.teardown_slot(lambda: _teardown(ROS2_PATTERNS)), verbose)


def kill_python_experiment_processes(*, verbose: bool = True,
                                     patterns: Sequence[str] = EXPERIMENT_PATTERNS) -> bool:
    """
    Stop the experiment scripts (default ``bag_test.py``, ``ms_test.py``), safely.

    Replaces the original script's pattern kill; scoped like :func:`kill_ros2_processes`.
    """
    return _report_step(steps.teardown_slot(lambda: _teardown(patterns)), verbose)


def force_kill_processes(*, verbose: bool = True) -> bool:
    """
    Run the original script's ``kill -9`` fallback.

    Same selection as above, escalating to SIGKILL at once.
    """
    result = steps.teardown_slot(lambda: _teardown(ROS2_PATTERNS + EXPERIMENT_PATTERNS, True))
    return _report_step(result, verbose)


def get_memory_usage(*, verbose: bool = True) -> dict:
    """Return RAM, swap, GPU and DDS shared-memory figures as a dict; print them if verbose."""
    snap = take_snapshot()
    _say(verbose, 'memory: ' + memory_line(snap))
    return snap.as_dict()


def default_options() -> plans.CleanupOptions:
    """Plan options of the drop-in: teardown of ROS 2 and experiment processes, as above."""
    return plans.CleanupOptions(
        teardown=lambda: _teardown(ROS2_PATTERNS + EXPERIMENT_PATTERNS))


def _end_run(plan, options: Optional[plans.CleanupOptions], verbose: bool,
             ledger: Optional[str], run_index=None, total_runs=None) -> plans.CleanupReport:
    """
    End the current run (``end_run``), ``plan(options)`` as its cleanup; start the next run.

    The run's tag, ``/dev/shm`` by record, the ROS 2 daemon, then the plan with its
    patterns, the verdict, the ledger line.
    """
    options = options if options is not None else default_options()
    check_ledger(ledger, runs.loop().fingerprint)
    made = []
    try:
        end = runs.finish(lambda given: made.append(plan(runs.with_baseline(options, given))),
                          tolerance_bytes=options.verify_tolerance_bytes)
        report = runs.merged_report(made[0], end, options)
        append_run(ledger, runs.loop(), end, report, run_index, total_runs)
    finally:
        runs.next_run()
    return _show(report, verbose, end)


def _show(report: plans.CleanupReport, verbose: bool, end=None) -> plans.CleanupReport:
    if not verbose:
        return report
    if report.skipped:
        _say(verbose, report.message)
    else:
        _say(verbose, f'--- {report.plan} cleanup ---')
        _say(verbose, 'memory before: ' + memory_line(report.memory_before))
        for result in report.steps:
            _report_step(result, verbose)
        if report.settle is not None:
            _say(verbose, f'wait: {report.settle.reason}')
        _say(verbose, 'memory after:  ' + memory_line(report.memory_after))
        _say(verbose, ('done: ' if report.success else 'FAILED: ') + report.message)
    if end is not None and report.verification is not None:
        _say(verbose, f'verdict: run {end.run_id}: {report.verification.line}')
    return report


def _options(options: Optional[plans.CleanupOptions], settle: bool) -> plans.CleanupOptions:
    options = options if options is not None else default_options()
    return options if settle else dataclasses.replace(options, settle=False)


def comprehensive_cleanup(wait_time=10, verbose=True, *, settle: bool = True,
                          options: Optional[plans.CleanupOptions] = None,
                          ledger: Optional[str] = None) -> plans.CleanupReport:
    """
    End the current run; teardown, Python/torch memory, drop_caches, guarded GPU reset, settle.

    ``wait_time`` caps settling (``settle=False``: the original script's fixed sleep).
    ``ledger``: a file to append the run's record to (``expclean report`` reads it).
    """
    cap = check_seconds('cap_s', wait_time)
    return _end_run(lambda opts: plans.comprehensive(opts, cap_s=cap),
                    _options(options, settle), verbose, ledger)


def quick_cleanup(wait_time=5, verbose=True, *, settle: bool = True,
                  options: Optional[plans.CleanupOptions] = None,
                  ledger: Optional[str] = None) -> plans.CleanupReport:
    """
    End the current run, then teardown and Python/torch memory, then settle at most ``wait_time``.

    No system caches. ``ledger`` as in :func:`comprehensive_cleanup`.
    """
    cap = check_seconds('cap_s', wait_time)
    return _end_run(lambda opts: plans.quick(opts, cap_s=cap), _options(options, settle),
                    verbose, ledger)


def cleanup_between_runs(run_index=None, total_runs=None, comprehensive=True, wait_time=None,
                         verbose=True, *, options: Optional[plans.CleanupOptions] = None,
                         ledger: Optional[str] = None) -> plans.CleanupReport:
    """
    End the current run, then the original script's between-runs cleanup (none after the last).

    The run (every process carrying its tag) is ended in any case; the cleanup is quick
    or comprehensive (``comprehensive``), and skipped after the last run.

    ``run_index`` is 0-based. Without it (the original script's own examples:
    ``cleanup_between_runs(wait_time=15)``, ``(comprehensive=False)``,
    ``(verbose=False)``) the run is not the last: the cleanup runs.
    ``wait_time=None``: settle with the automatic cap; a number: the original script's
    fixed sleep of that many seconds. ``ledger`` as in :func:`comprehensive_cleanup`.

    :raises ValueError: bad ``run_index``, ``total_runs``, ``wait_time`` or ``ledger``
        (the rule is stated), before anything is stopped.
    """
    plans.check_between_runs(run_index, total_runs, wait_time)
    return _end_run(lambda opts: plans.between_runs(run_index, total_runs, comprehensive,
                                                    wait_time, options=opts),
                    options, verbose, ledger, run_index, total_runs)


@contextlib.contextmanager
def run(*, verbose: bool = False, ledger: Optional[str] = None):
    """
    Mark one run as a ``with`` block: start it, and end it on the way out.

    ``with cleanup_utils.run(): ...``; the end is :func:`end_run`. Yields the run's tag.
    """
    check_ledger(ledger, runs.loop().fingerprint)
    tag = start_run()
    try:
        yield tag
    finally:
        end_run(verbose=verbose, ledger=ledger)


def end_run(*, verbose: bool = True, ledger: Optional[str] = None,
            options: Optional[plans.CleanupOptions] = None) -> plans.CleanupReport:
    """
    End the current run, as :func:`quick_cleanup` with no settling wait; start the next.

    The explicit form of what the three plans do first (see :func:`start_run`).
    """
    return _end_run(lambda opts: plans.quick(opts, cap_s=0),
                    options if options is not None else default_options(), verbose, ledger)
