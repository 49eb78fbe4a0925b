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
The runs of an experiment loop that imported the drop-in: the run tag, and the end of each run.

Importing :mod:`expclean_ros.cleanup_utils` puts a run tag in ``os.environ``
(``EXPCLEAN_RUN_ID``, the variable and format of ``expclean run``): every process the
loop starts from then on carries it, double-forked helpers included. A run ends
(:func:`finish`) through the one end-of-run routine,
:func:`expclean_ros.core.runs.end_of_run.end_run`, as ``expclean run`` ends its runs:
the last look, the teardown of every process carrying the tag (never the loop itself,
its ancestors, the ROS 2 daemon or expclean's own node and CLI), the run's ``/dev/shm``
files removed by the record taken at its start, the ROS 2 daemon restart
(``ros.ghosts.GhostWatch``; skipped with the reason without ros2cli), the caller's
cleanup, the verdict. :func:`next_run` then puts a fresh tag in ``os.environ``.

The verdict judges ``/dev/shm`` against the record taken at the run's start, with the
files' holders as contributors. RAM, swap and GPU use are recorded (the ledger) but
not judged: the loop process lives across runs and keeps what it allocated itself.

A loop started inside a run (``expclean run``, a launch's ``RunTag``) keeps the tag it
inherited, for all its runs, so that the outer run still finds everything the loop
started. The processes that carried that tag when this module was imported (the
loop's siblings) are spared, as the loop and its ancestors are.
"""

import dataclasses
import os
import time
from typing import Any, Callable, Optional, Tuple

from .core.cleanup.plans import CleanupOptions, CleanupReport
from .core.step_result import FAILED, OK, StepResult
from .core.cleanup.summary import report_line
from .core.cleanup.verify import DEFAULT_VERIFY_TOLERANCE_BYTES, verify
from .core.memory.probes import take_snapshot
from .core.procs.scanner import select
from .core.procs.selection import DEFAULT_PROTECT, DEFAULT_TAG_VARIABLE, Selection
from .core.runs.end_of_run import CleanupInput, RunEnd, RunStart, end_run
from .core.runs.peak import PeakSampler
from .core.runs.shm_watch import ShmWatch, run_pids
from .core.runs.tagged_start import new_run_id

__all__ = ['TAG_VARIABLE', 'PROTECT', 'current_tag', 'untagged_env', 'stop_tagging',
           'start_run', 'finish', 'next_run', 'last_run_end', 'loop', 'merged_report',
           'with_baseline']

#: The variable every process of a run carries (``expclean run``'s).
TAG_VARIABLE = DEFAULT_TAG_VARIABLE
#: Never stopped: the ROS 2 daemon and expclean's own node and CLI.
PROTECT = tuple(DEFAULT_PROTECT) + (r'cleanup_node', r'expclean_ros\.node',
                                    r'(^|[\s/])expclean(\s|$)')
#: How a verdict names the level it compares with.
SINCE_IMPORT = 'when cleanup_utils was imported'
SINCE_CLEANUP = 'at the previous cleanup'
SINCE_START = 'at the start of the run'


class _Watch(ShmWatch):
    """
    A run's ``/dev/shm`` watch whose verdict judges ``/dev/shm`` only, naming its level.

    Its last look (as the run ends) also samples the run's peak memory.
    """

    def __init__(self, since: str):
        super().__init__()
        self.since = since
        self.peak = PeakSampler()

    def observe(self, force: bool = False) -> None:
        if force:
            self.peak.sample()
        super().observe(force)

    def verify(self, before, after, tolerance_bytes: int = DEFAULT_VERIFY_TOLERANCE_BYTES,
               attribution=None):
        return verify(record=self.record, tolerance_bytes=tolerance_bytes, since=self.since)


@dataclasses.dataclass
class Loop:
    """
    The calling process's runs: its tag, the current run, the last one ended.

    :param inherited: the tag came from the environment (kept for every run).
    :param spared: processes that carried an inherited tag at import (never stopped).
    :param tagging: False after :func:`stop_tagging`: no tag in ``os.environ``.
    :param daemon_at_end: the run began at import, where ros2cli is not imported:
        its daemon step is made as it ends.
    """

    tag: str
    inherited: bool
    spared: Tuple[int, ...] = ()
    tagging: bool = True
    run: Optional[RunStart] = None
    started_at: float = 0.0
    begun: float = 0.0
    daemon_at_end: bool = False
    ended: int = 0
    last: Optional[RunEnd] = None
    fingerprint: str = ''

    def selection(self) -> Selection:
        """Every process carrying the tag; never the loop, its ancestors, nor ``spared``."""
        return Selection(tag=self.tag, tag_variable=TAG_VARIABLE, protect=PROTECT,
                         spare_pids=self.spared)


def _daemon_steps() -> tuple:
    from .ros.ghosts import GhostWatch
    return (GhostWatch(),)  # the daemon's node list now; skips itself without ros2cli


def _begin(since: str, at_import: bool = False) -> None:
    """Take the records of a run starting now: ``/dev/shm``, memory, the daemon's nodes."""
    selection = LOOP.selection()
    watch = _Watch(since)
    watch.follow(run_pids(selection))
    steps = () if at_import else _daemon_steps()
    LOOP.run = RunStart(selection, take_snapshot(), watch, steps)
    LOOP.started_at, LOOP.begun, LOOP.daemon_at_end = time.time(), time.monotonic(), at_import


def _adopt() -> 'Loop':
    """Give the importing process its tag (an inherited one is kept) and its first run."""
    inherited = os.environ.get(TAG_VARIABLE, '').strip()
    spared: Tuple[int, ...] = ()
    if inherited:
        spared = tuple(c.pid for c in select(Selection(tag=inherited, protect=())))
    tag = inherited or new_run_id()
    os.environ[TAG_VARIABLE] = tag
    return Loop(tag, bool(inherited), spared, fingerprint=f'cleanup_utils pid {os.getpid()} '
                                                          f'{tag}')


def current_tag() -> str:
    """Return the current run's tag (what the loop's processes carry, e.g. for ``~/teardown``)."""
    return LOOP.tag


def untagged_env(env=None) -> dict:
    """
    Return a copy of ``env`` (default ``os.environ``) without the run tag.

    A process started with it (``subprocess.Popen(cmd, env=untagged_env())``) belongs
    to no run: it outlives them all, and the loop stops it itself.
    """
    out = dict(os.environ if env is None else env)
    out.pop(TAG_VARIABLE, None)
    return out


def stop_tagging() -> None:
    """
    Take the tag out of ``os.environ`` for good: what the loop starts next belongs to no run.

    For a long-lived program (a notebook, a test runner) that uses the single steps or
    stops processes by pattern only. The end of a run still removes its ``/dev/shm``
    files by record and gives the verdict; its teardown finds nothing tagged.
    """
    LOOP.tagging = False
    if os.environ.get(TAG_VARIABLE) == LOOP.tag:
        del os.environ[TAG_VARIABLE]


def start_run() -> str:
    """
    Mark the start of a run now; return its tag.

    The run's records (``/dev/shm``, memory, the ROS 2 daemon's nodes) are taken now. The
    tag stays: what the loop started since the previous end belongs to this run too.
    """
    LOOP.run.close()
    _begin(SINCE_START)
    return LOOP.tag


def finish(cleanup: Optional[Callable[[CleanupInput], Any]] = None, *,
           tolerance_bytes: int = DEFAULT_VERIFY_TOLERANCE_BYTES) -> RunEnd:
    """
    End the current run through ``end_run``; ``cleanup(given)`` runs after its teardown.

    The next run is not started here: call :func:`next_run` (also when this raises).
    """
    if LOOP.daemon_at_end:
        LOOP.run.steps, LOOP.daemon_at_end = _daemon_steps(), False
    end = end_run(LOOP.run, cleanup=cleanup, tolerance_bytes=tolerance_bytes)
    LOOP.ended += 1
    LOOP.last = end
    return end


def next_run() -> None:
    """Start the next run: a fresh tag in ``os.environ`` (not an inherited one), new records."""
    LOOP.run.close()
    if not LOOP.inherited:
        LOOP.tag = new_run_id()
    if LOOP.tagging:
        os.environ[TAG_VARIABLE] = LOOP.tag
    _begin(SINCE_CLEANUP)


def _run_step(end) -> StepResult:
    """Return the teardown of the run's tag as a step (``run_teardown``)."""
    result = end.teardown
    return StepResult('run_teardown', OK if not result.left else FAILED, result.summary(),
                      result.seconds, result.as_dict())


def merged_report(report: CleanupReport, end, options: CleanupOptions) -> CleanupReport:
    """Return the plan's report with the end of the run in it: its steps first, its verdict."""
    own = options.verify_baseline is not None or options.verify_shm is not None
    checked = report.verification if own else end.verification
    steps = (_run_step(end),) + end.step_results + report.steps
    merged = dataclasses.replace(
        report, steps=steps, success=not any(s.status == FAILED for s in steps),
        processes_stopped=report.processes_stopped + end.teardown.stopped,
        processes_left=report.processes_left + len(end.teardown.left),
        verification=checked, seconds=end.seconds)
    if report.skipped:
        line = f'; run {end.run_id}: {end.teardown.summary()}'
        line += f', {checked.line}' if checked is not None else ''
        return dataclasses.replace(merged, message=report.message + line)
    return dataclasses.replace(merged, message=report_line(merged))


def with_baseline(options: CleanupOptions, given) -> CleanupOptions:
    """Settle until memory is back at the level before the run, when none of it is left."""
    if given.baseline is None:
        return options
    return dataclasses.replace(options, ram_baseline_bytes=given.baseline.ram_used_bytes,
                               gpu_baseline_bytes=given.baseline.gpu_used_bytes)


def last_run_end() -> Optional[RunEnd]:
    """Return what the end of the last run did (teardown, ``/dev/shm``, steps, verdict)."""
    return LOOP.last


def loop() -> Loop:
    """Return the calling process's runs (read-only use: the ledger, the tests)."""
    return LOOP


LOOP = _adopt()
_begin(SINCE_IMPORT, at_import=True)
