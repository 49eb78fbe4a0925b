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

- Processes are stopped by the teardown engine, never a kill by name pattern: only this
  user's processes on this ROS domain (``ROS_DOMAIN_ID``, unset = 0) whose
  command line matches, never the caller or its ancestors, the ROS 2 daemon or
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

import dataclasses
from typing import Optional, Sequence

from .core.cleanup import plans, steps
from .core.memory.probes import take_snapshot
from .core.step_result import OK, FAILED, StepResult
from .core.cleanup.summary import memory_line, step_line
from .core.memory.shm_record import ShmRecord
from .core.procs.selection import DEFAULT_PROTECT, Selection
from .core.procs.teardown_step import teardown_step

__all__ = ['clear_gpu', 'clear_gpu_memory', 'clear_python_memory', 'clear_system_cache',
           'kill_ros2_processes', 'kill_python_experiment_processes', 'force_kill_processes',
           'get_memory_usage', 'comprehensive_cleanup', 'quick_cleanup', 'cleanup_between_runs',
           'ROS2_PATTERNS', 'EXPERIMENT_PATTERNS', 'PROTECT', 'default_options']

#: The ``ros2`` command (launch, run, bag, ...) and nodes started with ROS arguments.
ROS2_PATTERNS = (r'(^|[\s/])ros2(\s|$)', r'(^|\s)--ros-args(\s|$)')
#: The original script's experiment scripts.
EXPERIMENT_PATTERNS = (r'(^|[\s/])bag_test\.py(\s|$)', r'(^|[\s/])ms_test\.py(\s|$)')
#: Never stopped: the ROS 2 daemon and expclean's own node and CLI.
PROTECT = tuple(DEFAULT_PROTECT) + (r'cleanup_node', r'expclean_ros\.node',
                                    r'(^|[\s/])expclean(\s|$)')


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


def _show(report: plans.CleanupReport, verbose: bool) -> plans.CleanupReport:
    if not verbose:
        return report
    if report.skipped:
        _say(verbose, report.message)
        return report
    _say(verbose, f'--- {report.plan} cleanup ---')
    _say(verbose, 'memory before: ' + memory_line(report.memory_before))
    for result in report.steps:
        _report_step(result, verbose)
    if report.settle is not None:
        _say(verbose, f'wait: {report.settle.reason}')
    _say(verbose, 'memory after:  ' + memory_line(report.memory_after))
    _say(verbose, ('done: ' if report.success else 'FAILED: ') + report.message)
    return report


# /dev/shm as it was when this module was imported (the experiment script's start), then
# after each cleanup that ran: what the next cleanup compares with, as the node's Trigger
# services do (the drop-in has no record of the level before a run).
_SINCE = {'shm': ShmRecord.take(), 'name': 'when cleanup_utils was imported'}


def _compared(options: Optional[plans.CleanupOptions]) -> plans.CleanupOptions:
    options = options if options is not None else default_options()
    if options.verify_shm is not None or options.verify_baseline is not None:
        return options  # the caller's own level
    return dataclasses.replace(options, verify_shm=_SINCE['shm'], verify_since=_SINCE['name'])


def _ran(report: plans.CleanupReport) -> plans.CleanupReport:
    if not report.skipped:
        _SINCE.update(shm=ShmRecord.take(), name='at the previous cleanup')
    return report


def _options(options: Optional[plans.CleanupOptions], settle: bool) -> plans.CleanupOptions:
    options = _compared(options)
    return options if settle else dataclasses.replace(options, settle=False)


def comprehensive_cleanup(wait_time=10, verbose=True, *, settle: bool = True,
                          options: Optional[plans.CleanupOptions] = None
                          ) -> plans.CleanupReport:
    """
    Teardown, Python/torch memory, drop_caches, guarded GPU reset, then settle.

    ``wait_time`` caps settling (``settle=False``: the original script's fixed sleep).
    """
    report = _ran(plans.comprehensive(_options(options, settle), cap_s=wait_time))
    return _show(report, verbose)


def quick_cleanup(wait_time=5, verbose=True, *, settle: bool = True,
                  options: Optional[plans.CleanupOptions] = None) -> plans.CleanupReport:
    """Teardown and Python/torch memory, no system caches, then settle at most ``wait_time``."""
    report = _ran(plans.quick(_options(options, settle), cap_s=wait_time))
    return _show(report, verbose)


def cleanup_between_runs(run_index=None, total_runs=None, comprehensive=True, wait_time=None,
                         verbose=True, *, options: Optional[plans.CleanupOptions] = None
                         ) -> plans.CleanupReport:
    """
    Run the original script's between-runs cleanup: none after the last run, else one.

    The cleanup is quick or comprehensive (``comprehensive``).

    ``run_index`` is 0-based. Without it (the original script's own examples:
    ``cleanup_between_runs(wait_time=15)``, ``(comprehensive=False)``,
    ``(verbose=False)``) the run is not the last: the cleanup runs.
    ``wait_time=None``: settle with the automatic cap; a number: the original script's
    fixed sleep of that many seconds.

    :raises ValueError: bad ``run_index``, ``total_runs`` or ``wait_time`` (the rule is stated).
    """
    report = _ran(plans.between_runs(run_index, total_runs, comprehensive=comprehensive,
                                     wait_time=wait_time, options=_compared(options)))
    return _show(report, verbose)
