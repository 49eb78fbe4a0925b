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
The end of a run, written once: stop it, remove what it left, settle, clean up, verify.

The cleanup node's ``~/teardown``, the ``Teardown`` launch action, the sequencer
(``expclean run``) and the hosts fan-out all end a run through :func:`end_run`:

1. the run's last look (:meth:`RunStart.ending`): what its processes hold in
   ``/dev/shm``, and each plugged step's ``observe()`` (the ROS 2 daemon's node list);
2. the teardown of its selection (tag, cgroup), then the caller's ``on_stopped``
   (a launch's run record, a tagged Popen and its cgroup);
3. the run's ``/dev/shm`` files removed by the record taken before it;
4. each plugged step's ``settle()``, in order (the daemon restart, the teardown
   on other hosts): what is ROS-specific comes in as a step, never as code here;
5. the cleanup, given the memory before the run as its baseline when nothing of
   the run is left;
6. the verdict against the level before the run, the RAM growth accounted to the run,
   other processes and the kernel (:mod:`.accounting`); how the run was disturbed is
   judged as it ends.

A new end-of-run step is one change here. Nothing here imports rclpy.
"""

import dataclasses
import time
from typing import Any, Callable, Optional, Sequence, Tuple

from ..step_result import SKIPPED, StepResult, run_step
from ..cleanup.verify import DEFAULT_VERIFY_TOLERANCE_BYTES, Verification, verify
from ..memory.probes import MemorySnapshot, take_snapshot
from ..procs import proctable
from ..procs.escalation import DEFAULT_STOP_TIMEOUTS_S, StopTimeouts
from ..procs.outcome import TeardownResult
from ..procs.selection import Selection
from ..procs.teardown import teardown
from .accounting import Accounting
from .disturbance import PSI_ROOT, Disturbance
from .shm_watch import ShmWatch, run_pids

__all__ = ['EndStep', 'RunStart', 'RunEnd', 'CleanupInput', 'end_run', 'DAEMON_STEP']

#: The name of the step that restarts a ROS 2 daemon still listing the run's nodes
#: (``ros.ghosts.GhostWatch``); the ledger keeps its result as ``ros2_daemon``.
DAEMON_STEP = 'ros2_daemon'


class EndStep:
    """
    A step the caller plugs into the end of a run (the shape of ``ros.ghosts.GhostWatch``).

    ``observe()`` is called as the run ends, before its teardown; ``settle()`` after it,
    returning a StepResult (or None when it had nothing to do).
    """

    def observe(self) -> None:
        """Take what the step needs to know while the run's processes still live."""

    def settle(self) -> Optional[StepResult]:
        """Do the step's work once the run's processes are gone."""
        raise NotImplementedError


@dataclasses.dataclass
class RunStart:
    """
    A run as it starts: what stops it, and the records its end is judged by.

    Make it with :meth:`begin` before the run's first process starts.

    :param selection: every process of the run (tag, cgroup, pids to spare).
    :param before: memory before the run (None: the end is not verified).
    :param shm: the record of ``/dev/shm`` before the run and what the run's processes
        held (None: the run's files are not removed by record).
    :param steps: plugged steps (:class:`EndStep`), settled in order after the teardown.
    :param on_stopped: called with the teardown's result before anything else is done.
    :param accounting: the process table and pressure totals as it started (None: the
        RAM growth is not accounted and the disturbance not judged).
    """

    selection: Selection
    before: Optional[MemorySnapshot] = None
    shm: Optional[ShmWatch] = None
    steps: Sequence[Any] = ()
    on_stopped: Optional[Callable[[TeardownResult], None]] = None
    started_ticks: int = dataclasses.field(default_factory=proctable.boot_ticks)
    accounting: Optional[Accounting] = None

    @classmethod
    def begin(cls, selection: Selection, *, shm_cleanup: bool = True, verify: bool = True,
              steps: Sequence[Any] = (), pids=None, account: bool = True,
              thresholds=None, pressure_root: str = PSI_ROOT, **kwargs) -> 'RunStart':
        """
        Take the records of a run about to start.

        :param pids: returns the run's pids now, for the ``/dev/shm`` evidence (default: a
            scan of ``selection``).
        :param account: take the records that account RAM growth and judge disturbance
            (``thresholds``: :class:`.disturbance.Thresholds`; ``pressure_root``: where PSI is).
        """
        accounting = Accounting(thresholds, pressure_root) if account else None
        watch = ShmWatch() if shm_cleanup else None
        if watch is not None:
            watch.follow(pids or run_pids(selection, selection.cgroup))
        return cls(selection, take_snapshot() if verify else None, watch, tuple(steps),
                   accounting=accounting, **kwargs)

    @property
    def run_id(self) -> str:
        return self.selection.tag or ''

    def observe(self) -> None:
        """While the run lives: note what its processes hold (cheap; see ShmWatch.observe)."""
        if self.shm is not None:
            self.shm.observe()

    def ending(self) -> None:
        """As the run ends, before its teardown: the last look of the watch and each step."""
        if self.accounting is not None and self.accounting.disturbance is None:
            self.accounting.ending(self.selection)
        if self.shm is not None:
            self.shm.observe(force=True)
        for step in self.steps:
            observe = getattr(step, 'observe', None)
            if observe is not None:
                observe()

    def close(self) -> None:
        """Stop the watch's sampling thread, if it has one (idempotent)."""
        if self.shm is not None:
            self.shm.stop_sampling()


@dataclasses.dataclass(frozen=True)
class CleanupInput:
    """
    What the cleanup after a run is given.

    :param baseline: memory before the run, when the teardown left none of its processes
        (memory back at it is then the run's memory returned); else None.
    """

    run_id: str
    teardown: TeardownResult
    baseline: Optional[MemorySnapshot]


@dataclasses.dataclass(frozen=True)
class RunEnd:
    """
    What the end of a run did, in order.

    ``shm`` is the removal of the run's ``/dev/shm`` files (None: not asked);
    ``steps`` the plugged steps' results; ``cleanup`` whatever the cleanup returned;
    ``after_teardown`` and ``after`` memory once the teardown and once the cleanup were
    done (None without a record before the run), ``verification`` the verdict,
    ``disturbance`` how the run was disturbed (None: not judged).
    """

    run_id: str
    teardown: TeardownResult
    shm: Optional[StepResult] = None
    steps: Tuple[StepResult, ...] = ()
    cleanup: Any = None
    after_teardown: Optional[MemorySnapshot] = None
    after: Optional[MemorySnapshot] = None
    verification: Optional[Verification] = None
    seconds: float = 0.0
    disturbance: Optional[Disturbance] = None

    @property
    def step_results(self) -> Tuple[StepResult, ...]:
        """Return the ``/dev/shm`` removal (when done) and the plugged steps, in order."""
        return ((self.shm,) if self.shm is not None else ()) + self.steps


def end_run(run: RunStart, *, timeouts: StopTimeouts = DEFAULT_STOP_TIMEOUTS_S,
            dry_run: bool = False, presignalled=None, reap: bool = True,
            after_sigkill: Optional[Callable[[int], None]] = None,
            cleanup: Optional[Callable[[CleanupInput], Any]] = None,
            tolerance_bytes: int = DEFAULT_VERIFY_TOLERANCE_BYTES,
            progress: Optional[Callable[[str, Any], None]] = None) -> RunEnd:
    """
    End ``run``: stop it, remove what it left, settle the steps, clean up, verify.

    The keywords after ``timeouts`` go to :func:`~..procs.teardown.teardown`. ``dry_run``
    only lists what would be stopped. ``progress(stage, result)`` is called as each stage
    ends (``teardown``, ``shm``, ``step``, ``cleanup``, ``verify``), e.g. to log it.
    One failing step never stops the others (each runs under ``run_step``).

    :raises ValueError: from the teardown, before any signal (bad timeouts, a pattern
        that ran past its time limit in the first scan).
    """
    start = time.monotonic()
    say = progress or (lambda stage, result: None)
    run.ending()
    result = teardown(run.selection, *StopTimeouts(*timeouts).check(), dry_run=dry_run,
                      presignalled=presignalled, reap=reap, after_sigkill=after_sigkill)
    if dry_run:
        run.close()
        return RunEnd(run.run_id, result, seconds=time.monotonic() - start)
    if run.on_stopped is not None:
        run.on_stopped(result)
    say('teardown', result)
    shm = None
    if run.shm is not None:
        shm = run.shm.clean()
        say('shm', shm)
    steps = []
    for step in run.steps:
        done = _settle(step)
        if done is not None:
            steps.append(done)
            say('step', done)
    after_teardown = take_snapshot() if run.before is not None else None
    cleaned = None
    if cleanup is not None:
        baseline = run.before if not result.left else None
        cleaned = cleanup(CleanupInput(run.run_id, result, baseline))
        say('cleanup', cleaned)
    after = checked = None
    if run.before is not None:
        after = take_snapshot()
        share = None
        if run.accounting is not None:
            share = run.accounting.attribute(run.selection, [p.pid for p in result.left])
        checked = (run.shm.verify(run.before, after, tolerance_bytes, attribution=share)
                   if run.shm is not None
                   else verify(run.before, after, tolerance_bytes=tolerance_bytes,
                               since_ticks=run.started_ticks, attribution=share))
        say('verify', checked)
    return RunEnd(run.run_id, result, shm, tuple(steps), cleaned, after_teardown, after,
                  checked, time.monotonic() - start,
                  run.accounting.disturbance if run.accounting is not None else None)


def _settle(step) -> Optional[StepResult]:
    """Return ``step.settle()``; an exception becomes a ``failed`` result, None stays None."""
    name = getattr(step, 'name', None) or getattr(step, 'STEP_NAME', type(step).__name__)
    said = []

    def call():
        said.append(step.settle())
        return said[0] or StepResult(name, SKIPPED, 'nothing to do')
    done = run_step(name, call)
    return None if said and said[0] is None else done
