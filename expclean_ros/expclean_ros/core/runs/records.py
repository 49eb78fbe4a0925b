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
What a ledger line keeps of a run, of memory and of a cleanup; the sequencer's cleanup callables.

:func:`run_record` assembles the typed ``run`` line (:class:`.run_record.RunRecord`) from
what the sequencer has at the end of a run.
"""

import dataclasses
import time
from typing import Iterable, List, Optional

from ..memory.probes import MemorySnapshot
from .options import CleanupFn
from .record_parts import (CleanupRecord, GpuReading, MemoryReading, RunMemory, StepRecord,
                           TeardownSummary, VerifyRecord)
from .run_record import RunRecord

__all__ = ['memory_reading', 'memory_record', 'cleanup_record', 'report_record',
           'in_process_cleanup', 'no_cleanup', 'run_record']


def memory_reading(snap: MemorySnapshot) -> MemoryReading:
    """Return what a ledger line keeps of a snapshot (with /dev/shm in use)."""
    return MemoryReading(
        ram_used_bytes=snap.ram_used_bytes, ram_total_bytes=snap.ram_total_bytes,
        swap_used_bytes=snap.swap_used_bytes, shm_used_bytes=snap.shm_used_bytes,
        gpus=tuple(GpuReading(index=g.index, name=g.name, used_bytes=g.used_bytes,
                              total_bytes=g.total_bytes) for g in snap.gpus),
        gpu_status=snap.gpu_status)


def memory_record(snap: MemorySnapshot) -> dict:
    """Return the compact memory fields a ledger line keeps of a snapshot, as written."""
    return memory_reading(snap).as_dict()


def _step(result) -> Optional[StepRecord]:
    return StepRecord.from_dict(result.as_dict()) if result is not None else None


def run_record(*, index: int, row: dict, run_id: str, command: List[str], log: Optional[str],
               ros_log_dir: Optional[str], mechanism: Optional[str], status: str,
               exit_code: Optional[int], detail: str, duration_s: float,
               before: MemorySnapshot, peak, after_teardown: MemorySnapshot,
               after: MemorySnapshot, teardown: dict, shm, daemon, cleanup: dict, verify,
               leftovers: List[dict], recovered: Optional[dict], overhead_s: float) -> RunRecord:
    """
    Return the ledger's ``run`` line of a finished run, from what the sequencer holds.

    :param peak: a :class:`.peak.PeakSampler`; ``shm``, ``daemon``: the /dev/shm and ROS 2
        daemon steps' results (or None: not done); ``verify``: the check's result.
    """
    memory = RunMemory(
        before=memory_reading(before), peak=MemoryReading.from_dict(peak.as_dict()),
        after_teardown=memory_reading(after_teardown), after=memory_reading(after))
    return RunRecord(
        index=index, row=dict(row), run_id=run_id, command=tuple(command), log=log,
        ros_log_dir=ros_log_dir, mechanism=mechanism, status=status, exit_code=exit_code,
        detail=detail, duration_s=duration_s, memory=memory,
        teardown=TeardownSummary.from_dict(teardown), shm=_step(shm), ros2_daemon=_step(daemon),
        cleanup=CleanupRecord.from_dict(cleanup),
        verify=VerifyRecord.from_dict(verify.as_dict()) if verify is not None else None,
        leftovers=tuple(leftovers), recovered=recovered, finished_at=time.time(),
        overhead_s=overhead_s)


def cleanup_record(*, plan: str, success: bool, skipped: bool, message: str, seconds: float,
                   settled: Optional[bool], settle_s: float, steps: Iterable[tuple] = (),
                   processes_stopped: int = 0, processes_left: int = 0) -> dict:
    """
    Return the ledger's ``cleanup`` field.

    The same whether the cleanup ran in this process or in a cleanup node; ``steps``: (name,
    status, detail, seconds) of each step.

    >>> cleanup_record(plan='quick', success=True, skipped=False, message='ok', seconds=1,
    ...                settled=True, settle_s=0.5)['steps']
    []
    """
    return {'plan': plan, 'success': bool(success), 'skipped': bool(skipped),
            'message': message, 'seconds': float(seconds),
            'settled': None if settled is None else bool(settled),
            'settle_s': float(settle_s),
            'steps': [{'name': name, 'status': status, 'detail': detail,
                       'seconds': float(step_s)} for name, status, detail, step_s in steps],
            'processes_stopped': int(processes_stopped),
            'processes_left': int(processes_left)}


def report_record(report) -> dict:
    """
    Return a plans.CleanupReport as the ledger's ``cleanup`` field.

    (same fields as via a node).
    """
    settle = report.settle
    return cleanup_record(
        plan=report.plan, success=report.success, skipped=report.skipped,
        message=report.message, seconds=report.seconds,
        settled=settle.settled if settle is not None else None,
        settle_s=settle.seconds if settle is not None else 0.0,
        steps=[(s.name, s.status, s.detail, s.seconds) for s in report.steps],
        processes_stopped=report.processes_stopped, processes_left=report.processes_left)


def in_process_cleanup(comprehensive: bool = True, wait_time: Optional[float] = None,
                       options=None) -> CleanupFn:
    """
    Return a cleanup callable running :func:`plans.between_runs` in this process.

    Given the ``baseline`` snapshot from before the run (the sequencer passes it once
    the run's processes are verified gone), settling ends as soon as RAM and GPU
    memory in use are back at it, instead of after a whole quiet window. The plan's
    own ``/dev/shm`` step (no record: creator gone) is off unless ``options`` turn it
    on: the sequencer removes what the run left by its record, more precisely.
    """
    from ..cleanup import plans

    def cleanup(run_index: int, total_runs: int,
                baseline: Optional[MemorySnapshot] = None) -> dict:
        opts = options if options is not None else plans.CleanupOptions(shm_cleanup=False)
        if baseline is not None:
            opts = dataclasses.replace(
                opts if opts is not None else plans.CleanupOptions(),
                ram_baseline_bytes=baseline.ram_used_bytes,
                gpu_baseline_bytes=baseline.gpu_used_bytes,
                writeback_baseline_bytes=baseline.writeback_bytes)
        return report_record(plans.between_runs(run_index, total_runs, comprehensive,
                                                wait_time, options=opts))
    return cleanup


def no_cleanup(run_index: int, total_runs: int, baseline=None) -> dict:
    """Return a cleanup callable that does nothing (teardown of the run still happens)."""
    return cleanup_record(plan='none', success=True, skipped=True,
                          message='no cleanup requested', seconds=0.0, settled=None,
                          settle_s=0.0)
