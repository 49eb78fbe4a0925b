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
Run a table of experiment runs, one after another, cleaning up and recording between them.

Per run: a ``started`` line in the ledger (fsync'd), the command started as a
tagged run in a new session (:func:`~expclean_ros.core.runs.tagged_start.start_tagged`),
memory sampled until it exits or its timeout passes, teardown of everything
carrying its tag, the between-runs cleanup (in-process by default, or any
callable, e.g. one that calls a cleanup node), a check for leftovers, and one
``run`` line in the ledger. ``resume=True`` skips runs already finished and
tears down what an interrupted runner left of its last run before running it
again. Bad input raises ``ValueError`` before the first run starts.
"""

import logging
import os
import subprocess
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from ..procs import cgroups
from ..procs.pidfd import open_pidfd, wait_readable
from ..procs.scanner import select
from ..procs.selection import Selection
from ..procs.teardown import teardown
from .cgroup_trust import expected_cgroup, trusted_cgroup
from . import launch_record
from .interrupts import sigterm_interrupts
from .ledger import Ledger, header_record, read_ledger
from .options import (STATUS_ERROR, STATUS_FAILED, STATUS_OK, STATUS_TIMED_OUT, BatchResult,
                      CleanupFn, SequencerOptions)
from .peak import PeakSampler
from .records import in_process_cleanup, run_record
from .run_logs import check_logs, ros_log_dir, run_log
from .run_table import RunTable, check_template, fill_template
from .shards import Shard, check_ledger_shard, shard_record, shard_rows
from .figures import FigureCapture, metrics_path
from .end_of_run import DAEMON_STEP, RunStart, end_run
from .quiet_start import wait_quiet
from .shm_watch import run_pids
from .tagged_start import TaggedRun, new_run_id, start_tagged

__all__ = ['run_batch', 'stop_tag', 'run_log']

_log = logging.getLogger(__name__)


def stop_tag(run_id: str, cgroup: Optional[str], opts: SequencerOptions) -> dict:
    """Tear down every process still carrying ``run_id`` (and its cgroup, if it exists)."""
    cgroup = trusted_cgroup(run_id, cgroup)
    result = teardown(Selection(tag=run_id, tag_variable=opts.tag_variable, cgroup=cgroup),
                      *opts.timeouts)
    if cgroup:
        cgroups.remove(cgroup)
    return result.as_dict()


def _leftovers(run_id: str, opts: SequencerOptions) -> List[dict]:
    return [c.as_dict() for c in select(Selection(tag=run_id, tag_variable=opts.tag_variable))]


def _wait_exit(popen: subprocess.Popen, pidfd: Optional[int], timeout_s: float) -> Optional[int]:
    """
    Return the exit code once ``popen`` exits within ``timeout_s``, else None.

    A pidfd turns readable the moment the child exits; ``Popen.wait(timeout)``
    polls with sleeps of up to 50 ms, which every run would pay.
    """
    if pidfd is None:
        try:
            return popen.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None
    wait_readable([pidfd], timeout_s)
    return popen.poll()


def _wait_run(tagged, opts: SequencerOptions, peak: PeakSampler, t0: float,
              run: RunStart) -> Tuple[Optional[int], bool]:
    """
    (exit code, timed out).

    Wait for the run, sampling memory (and noting what its processes hold in /dev/shm), up to its
    timeout.
    """
    deadline = None if opts.timeout_s is None else t0 + opts.timeout_s
    pidfd = open_pidfd(tagged.popen.pid)
    try:
        while True:
            peak.sample()
            run.observe()
            wait = opts.sample_interval_s
            if deadline is not None:
                wait = min(wait, max(0.0, deadline - time.monotonic()))
            code = _wait_exit(tagged.popen, pidfd, wait)
            if code is not None:
                return code, False
            if deadline is not None and time.monotonic() >= deadline:
                return None, True
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _start(index: int, total: int, cmd: List[str], opts: SequencerOptions, run_id: str,
           env: dict, out, pipes: dict) -> Tuple[Optional[TaggedRun], str]:
    """Return the run started (None, and why, when it could not start)."""
    if out is not None:  # a resumed run's log holds its earlier try: say where this one begins
        out.write(f'=== expclean run {index + 1} of {total}, run tag {run_id}, started '
                  f'{time.strftime("%Y-%m-%d %H:%M:%S")} ===\n'.encode())
        out.flush()
    try:
        return start_tagged(cmd, env=env, run_id=run_id, tag_variable=opts.tag_variable,
                            cwd=opts.cwd, stdout=out or pipes.get('stdout'),
                            stderr=subprocess.STDOUT if out else pipes.get('stderr'),
                            use_cgroup=opts.use_cgroup), ''
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f'could not start {cmd[0]!r}: {getattr(exc, "strerror", None) or exc}'


def _run_one(index: int, total: int, row: dict, cmd: List[str], ledger: Ledger,
             opts: SequencerOptions, cleanup: CleanupFn, recovered: Optional[dict]) -> dict:
    quiet = (wait_quiet(opts.quiet_start_s, opts.thresholds, opts.pressure_root)
             if opts.quiet_start_s else None)
    begin = time.monotonic()
    run_id = new_run_id()
    ledger.append({'type': 'started', 'index': index, 'run_id': run_id,
                   'tag_variable': opts.tag_variable, 'cgroup': expected_cgroup(run_id),
                   'started_at': time.time()})
    # the records before it: memory, /dev/shm, the plugged steps' (the daemon's node list)
    run = RunStart.begin(Selection(tag=run_id, tag_variable=opts.tag_variable),
                         shm_cleanup=opts.shm_cleanup, thresholds=opts.thresholds,
                         pressure_root=opts.pressure_root,
                         steps=[make(run_id) for make in opts.end_steps])
    peak = PeakSampler()
    log_path = run_log(opts.log_dir, index)
    ros_logs = ros_log_dir(opts, ledger.path, index)
    capture = FigureCapture(opts.metrics, metrics_path(opts.log_dir, ledger.path, index),
                            log_path)
    env = capture.env(os.environ if opts.env is None else opts.env)
    if ros_logs:
        env['ROS_LOG_DIR'] = ros_logs
    exit_code, status, duration, timed_out = None, STATUS_ERROR, 0.0, False
    mechanism = None
    out = open(log_path, 'ab') if log_path else None
    try:
        t0 = time.monotonic()
        tagged, detail = _start(index, total, cmd, opts, run_id, env, out, capture.pipes())
        if tagged is not None:
            capture.follow(tagged.popen)
            run.selection, run.on_stopped = tagged.selection(), tagged.finish
            if run.shm is not None:
                run.shm.follow(run_pids(tagged.selection(), tagged.cgroup))
            try:
                exit_code, timed_out = _wait_run(tagged, opts, peak, t0, run)
            except BaseException:  # Ctrl-C / SIGTERM: never leave the run behind
                _log.warning('interrupted: stopping run %d (%s)', index + 1, run_id)
                tagged.stop(*opts.timeouts)
                raise
            duration = time.monotonic() - t0
            mechanism = tagged.mechanism
    finally:
        if out is not None:
            out.close()
    # never started: nothing can carry the tag, but the same end makes sure
    end = end_run(run, timeouts=opts.timeouts, tolerance_bytes=opts.verify_tolerance_bytes,
                  cleanup=lambda given: cleanup(index, total, baseline=given.baseline))
    if tagged is not None:
        if timed_out:
            exit_code = tagged.popen.returncode
            status = STATUS_TIMED_OUT
            detail = f'timed out after {opts.timeout_s:g} s; torn down'
        else:
            status = STATUS_OK if exit_code == 0 else STATUS_FAILED
            detail = f'exited with {exit_code}'
    record = run_record(
        index=index, row=row, run_id=run_id, command=cmd, log=log_path, ros_log_dir=ros_logs,
        mechanism=mechanism, status=status, exit_code=exit_code, detail=detail,
        duration_s=duration, before=run.before, peak=peak, after_teardown=end.after_teardown,
        after=end.after, teardown=end.teardown.as_dict(), shm=end.shm,
        daemon=next((s for s in end.steps if s.name == DAEMON_STEP), None),
        cleanup=end.cleanup, verify=end.verification, leftovers=_leftovers(run_id, opts),
        recovered=recovered, overhead_s=time.monotonic() - begin - duration).as_dict()
    record.update(  # what disturbed the run, and how it started (docs/batches.md)
        disturbance=end.disturbance.as_dict() if end.disturbance is not None else None,
        quiet_start=quiet.as_dict() if quiet is not None else None)
    figures = capture.figures()
    if figures:  # a run without a figure has none, never a zero
        record['figures'] = figures
    ledger.append(record)
    return record


def _prepare(table: RunTable, template: Sequence[str], ledger_path: str, resume: bool,
             shard: Optional[Shard]):
    check_template(template, table)
    shard_rows(len(table), shard)
    commands = [fill_template(template, row, i) for i, row in enumerate(table.rows)]
    state = read_ledger(ledger_path)
    if state.header is not None:
        if state.header.get('fingerprint') != table.fingerprint:
            raise ValueError(f'ledger {ledger_path} belongs to another table '
                             f'({state.header.get("table")}, {state.header.get("total_runs")} '
                             f'runs); give a new --ledger path for {table.path}')
        check_ledger_shard(state.header, shard, ledger_path)
        if not resume:
            raise ValueError(f'ledger {ledger_path} already holds {len(state.finished)} '
                             f'finished runs of this table: pass --resume to continue it, '
                             f'or give a new --ledger path')
    return commands, state


def run_batch(table: RunTable, template: Sequence[str], ledger_path: str,
              options: Optional[SequencerOptions] = None, *, resume: bool = False,
              cleanup: Optional[CleanupFn] = None, shard: Optional[Shard] = None,
              on_start: Optional[Callable[[int, int, int], None]] = None,
              on_finish: Optional[Callable[[dict, int, int], None]] = None) -> BatchResult:
    """
    Run every row of ``table`` with ``template``; record each run in ``ledger_path``.

    :param cleanup: ``cleanup(run_index, total_runs, baseline=None) -> dict`` between
        runs (see :func:`report_record` for the fields; ``baseline``: the memory
        snapshot before the run, passed when teardown left none of its processes);
        default: the in-process comprehensive between-runs plan. Work that needs the
        run's tag (a teardown on other hosts) is an end step (``options.end_steps``).
    :param on_start: ``on_start(index, position, count)`` before each run
        (position 0-based among the ``count`` runs to do now).
    :param on_finish: ``on_finish(record, position, count)`` after each run.
    :param shard: ``(K, N)``: run only rows K, K+N, ... (:mod:`.shards`); the header
        names the shard.
    :raises ValueError: bad template, ledger of another table, existing ledger
        without ``resume``, unwritable ledger — before any run starts.
    """
    opts = options or SequencerOptions()
    cleanup = cleanup or in_process_cleanup()
    start = time.monotonic()
    commands, state = _prepare(table, template, ledger_path, resume, shard)
    check_logs(opts.log_dir, resume and state.header is not None)
    if opts.log_dir:
        os.makedirs(opts.log_dir, exist_ok=True)
    total = len(table)
    records: List[dict] = []
    with Ledger(ledger_path) as ledger, sigterm_interrupts():
        if state.header is None:
            header = header_record(table.path, table.fingerprint, total, list(template),
                                   list(table.columns))
            if shard is not None:
                header['shard'] = shard_record(shard)
            ledger.append(header)
        for rec, found in launch_record.stop_stale(opts.timeouts):
            _log.warning('run %s of launch pid %d, which is gone: %s', rec.run_id,
                         rec.launch_pid, found.summary())
        recovered: Dict[int, dict] = {}
        for started in state.interrupted:
            _log.warning('run %d (%s) was interrupted: tearing down what is left of it',
                         started['index'], started['run_id'])
            found = stop_tag(started['run_id'], started.get('cgroup'), opts)
            recovered[int(started['index'])] = dict(found, run_id=started['run_id'])
        pending = [i for i in shard_rows(total, shard) if i not in state.finished]
        for position, index in enumerate(pending):
            if on_start is not None:
                on_start(index, position, len(pending))
            record = _run_one(index, total, table.rows[index], commands[index], ledger, opts,
                              cleanup, recovered.get(index))
            records.append(record)
            if on_finish is not None:
                on_finish(record, position, len(pending))
    done = dict(state.finished)
    done.update({r['index']: r for r in records})
    return BatchResult(os.path.abspath(ledger_path), tuple(records),
                       tuple(sorted(state.finished)), tuple(recovered.values()),
                       tuple(done[i] for i in sorted(done)), time.monotonic() - start)
