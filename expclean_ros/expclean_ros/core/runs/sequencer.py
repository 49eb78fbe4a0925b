"""Run a table of experiment runs, one after another, cleaning up and recording between them.

Per run: a ``started`` line in the ledger (fsync'd), the command started as a
tagged run in a new session (:func:`~expclean_ros.core.runs.tagged_start.start_tagged`),
memory sampled until it exits or its timeout passes, teardown of everything
carrying its tag, the between-runs cleanup (in-process by default, or any
callable, e.g. one that calls a cleanup node), a check for leftovers, and one
``run`` line in the ledger. ``resume=True`` skips runs already finished and
tears down what an interrupted runner left of its last run before running it
again. Bad input raises ``ValueError`` before the first run starts.
"""

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ..procs import cgroups
from .ledger import Ledger, header_record, read_ledger
from ..memory.probes import MemorySnapshot, ram_used_bytes, read_gpus, take_snapshot
from .tagged_start import new_run_id, start_tagged
from .run_table import RunTable, check_template, fill_template
from ..procs.scanner import select
from ..procs.selection import DEFAULT_TAG_VARIABLE, Selection
from ..procs.teardown import teardown

__all__ = ['SequencerOptions', 'BatchResult', 'run_batch', 'in_process_cleanup',
           'no_cleanup', 'report_record', 'memory_record', 'STATUS_OK', 'STATUS_FAILED',
           'STATUS_TIMED_OUT', 'STATUS_ERROR']

_log = logging.getLogger(__name__)

STATUS_OK = 'ok'                # exited 0
STATUS_FAILED = 'failed'        # exited non-zero
STATUS_TIMED_OUT = 'timed_out'  # ran past its timeout, torn down
STATUS_ERROR = 'error'          # could not start

CleanupFn = Callable[[int, int], dict]


@dataclass(frozen=True)
class SequencerOptions:
    """How to run each row.

    :param timeout_s: per-run limit; past it the run is torn down and recorded
        ``timed_out``. None: no limit.
    :param sigint_timeout_s: teardown wait after SIGINT (then SIGTERM, SIGKILL).
    :param sigterm_timeout_s: teardown wait after SIGTERM.
    :param sigkill_timeout_s: teardown wait after SIGKILL.
    :param tag_variable: the environment variable carrying the run tag.
    :param use_cgroup: put each run in a cgroup of its own where the machine allows.
    :param sample_interval_s: how often memory is sampled for the peak while a run lives.
    :param log_dir: each run's stdout+stderr go to ``log_dir/run-NNN.log``; None: inherited.
    :param env: environment of the runs (default: ours); the tag is added.
    :param cwd: working directory of the runs.
    """

    timeout_s: Optional[float] = None
    sigint_timeout_s: float = 2.0
    sigterm_timeout_s: float = 2.0
    sigkill_timeout_s: float = 1.0
    tag_variable: str = DEFAULT_TAG_VARIABLE
    use_cgroup: bool = True
    sample_interval_s: float = 0.1
    log_dir: Optional[str] = None
    env: Optional[Mapping[str, str]] = None
    cwd: Optional[str] = None

    def __post_init__(self):
        if self.timeout_s is not None and not self.timeout_s > 0:
            raise ValueError(f'timeout must be greater than zero seconds, got {self.timeout_s}')
        for name in ('sigint_timeout_s', 'sigterm_timeout_s', 'sigkill_timeout_s'):
            if not getattr(self, name) >= 0:
                raise ValueError(f'{name} must be zero or more, got {getattr(self, name)}')
        if not self.sample_interval_s > 0:
            raise ValueError('sample_interval_s must be greater than zero')
        if self.log_dir is not None and not os.path.isdir(self.log_dir):
            raise ValueError(f'log directory {self.log_dir} does not exist')


@dataclass(frozen=True)
class BatchResult:
    """What :func:`run_batch` did: ``records`` run now, ``skipped`` indexes already finished.

    ``all_records`` is every finished run of the ledger, in index order.
    ``recovered`` holds the teardowns of runs an interrupted runner left behind.
    """

    ledger_path: str
    records: Tuple[dict, ...]
    skipped: Tuple[int, ...]
    recovered: Tuple[dict, ...]
    all_records: Tuple[dict, ...]
    seconds: float


def memory_record(snap: MemorySnapshot) -> dict:
    """The compact memory fields a ledger line keeps of a snapshot."""
    return {'ram_used_bytes': snap.ram_used_bytes, 'ram_total_bytes': snap.ram_total_bytes,
            'swap_used_bytes': snap.swap_used_bytes,
            'gpus': [{'index': g.index, 'name': g.name, 'used_bytes': g.used_bytes,
                      'total_bytes': g.total_bytes} for g in snap.gpus],
            'gpu_status': snap.gpu_status}


def report_record(report) -> dict:
    """A plans.CleanupReport as the ledger's ``cleanup`` field (same fields as via a node)."""
    settle = report.settle
    return {'plan': report.plan, 'success': bool(report.success), 'skipped': bool(report.skipped),
            'message': report.message, 'seconds': float(report.seconds),
            'settled': bool(settle.settled) if settle is not None else None,
            'settle_s': float(settle.seconds) if settle is not None else 0.0,
            'steps': [{'name': s.name, 'status': s.status, 'detail': s.detail,
                       'seconds': float(s.seconds)} for s in report.steps],
            'processes_stopped': int(report.processes_stopped),
            'processes_left': int(report.processes_left)}


def in_process_cleanup(comprehensive: bool = True, wait_time: Optional[float] = None,
                       options=None) -> CleanupFn:
    """A cleanup callable running :func:`plans.between_runs` in this process."""
    from ..cleanup import plans

    def cleanup(run_index: int, total_runs: int) -> dict:
        return report_record(plans.between_runs(run_index, total_runs, comprehensive,
                                                wait_time, options=options))
    return cleanup


def no_cleanup(run_index: int, total_runs: int) -> dict:
    """A cleanup callable that does nothing (teardown of the run still happens)."""
    return {'plan': 'none', 'success': True, 'skipped': True, 'message': 'no cleanup requested',
            'seconds': 0.0, 'settled': None, 'settle_s': 0.0, 'steps': [],
            'processes_stopped': 0, 'processes_left': 0}


class _Peak:
    """Largest RAM and per-GPU use seen while a run lives."""

    def __init__(self):
        self.ram = 0
        self.gpus: Dict[int, int] = {}

    def sample(self) -> None:
        self.ram = max(self.ram, ram_used_bytes())
        for g in read_gpus()[0]:
            self.gpus[g.index] = max(self.gpus.get(g.index, 0), g.used_bytes)

    def as_dict(self) -> dict:
        return {'ram_used_bytes': self.ram,
                'gpus': [{'index': i, 'used_bytes': b} for i, b in sorted(self.gpus.items())]}


def _expected_cgroup(run_id: str) -> Optional[str]:
    parent, _ = cgroups.own_cgroup_dir()
    return os.path.join(parent, f'expclean-{run_id}') if parent else None


def _trusted_cgroup(run_id: str, cgroup) -> Optional[str]:
    """``cgroup`` from a ledger line if it is ``expclean-<run_id>`` under the cgroup v2
    mount (a ledger is a file anyone could edit: never tear down another cgroup)."""
    mount = cgroups.unified_mount()
    if not cgroup or not isinstance(cgroup, str) or mount is None:
        return None
    path = os.path.normpath(cgroup)
    if (path != cgroup.rstrip('/') or os.path.basename(path) != f'expclean-{run_id}'
            or os.path.commonpath([path, mount]) != mount or path == mount):
        _log.warning('ledger names cgroup %r for run %s: not its own cgroup, ignored',
                     cgroup, run_id)
        return None
    return path if os.path.isdir(path) and not os.path.islink(path) else None


def _stop_tag(run_id: str, cgroup: Optional[str], opts: SequencerOptions) -> dict:
    """Tear down every process still carrying ``run_id`` (and its cgroup, if it exists)."""
    cgroup = _trusted_cgroup(run_id, cgroup)
    result = teardown(Selection(tag=run_id, tag_variable=opts.tag_variable, cgroup=cgroup),
                      opts.sigint_timeout_s, opts.sigterm_timeout_s, opts.sigkill_timeout_s)
    if cgroup:
        cgroups.remove(cgroup)
    return result.as_dict()


def _leftovers(run_id: str, opts: SequencerOptions) -> List[dict]:
    return [c.as_dict() for c in select(Selection(tag=run_id, tag_variable=opts.tag_variable))]


def _wait_run(run, opts: SequencerOptions, peak: _Peak, t0: float) -> Tuple[Optional[int], bool]:
    """(exit code, timed out): wait for the run, sampling memory, up to its timeout."""
    deadline = None if opts.timeout_s is None else t0 + opts.timeout_s
    while True:
        peak.sample()
        wait = opts.sample_interval_s
        if deadline is not None:
            wait = min(wait, max(0.0, deadline - time.monotonic()))
        try:
            return run.popen.wait(timeout=wait), False
        except subprocess.TimeoutExpired:
            if deadline is not None and time.monotonic() >= deadline:
                return None, True


def _run_one(index: int, total: int, row: dict, cmd: List[str], ledger: Ledger,
             opts: SequencerOptions, cleanup: CleanupFn, recovered: Optional[dict]) -> dict:
    begin = time.monotonic()
    run_id = new_run_id()
    ledger.append({'type': 'started', 'index': index, 'run_id': run_id,
                   'tag_variable': opts.tag_variable, 'cgroup': _expected_cgroup(run_id),
                   'started_at': time.time()})
    before = take_snapshot()
    peak = _Peak()
    log_path = (os.path.join(opts.log_dir, f'run-{index:03d}.log') if opts.log_dir else None)
    out = open(log_path, 'ab') if log_path else None
    record = {'type': 'run', 'index': index, 'row': dict(row), 'run_id': run_id,
              'command': cmd, 'log': log_path}
    exit_code, status, detail, duration = None, STATUS_ERROR, '', 0.0
    tdown = None
    try:
        t0 = time.monotonic()
        try:
            run = start_tagged(cmd, env=opts.env, run_id=run_id, tag_variable=opts.tag_variable,
                               cwd=opts.cwd, stdout=out, stderr=subprocess.STDOUT if out else None,
                               use_cgroup=opts.use_cgroup)
        except (OSError, subprocess.SubprocessError) as exc:
            detail = f'could not start {cmd[0]!r}: {getattr(exc, "strerror", None) or exc}'
        else:
            try:
                exit_code, timed_out = _wait_run(run, opts, peak, t0)
            except BaseException:  # Ctrl-C / SIGTERM: never leave the run behind
                _log.warning('interrupted: stopping run %d (%s)', index, run_id)
                run.stop(opts.sigint_timeout_s, opts.sigterm_timeout_s, opts.sigkill_timeout_s)
                raise
            duration = time.monotonic() - t0
            result = run.stop(opts.sigint_timeout_s, opts.sigterm_timeout_s,
                              opts.sigkill_timeout_s)
            tdown = result.as_dict()
            if timed_out:
                exit_code = run.popen.returncode
                status = STATUS_TIMED_OUT
                detail = f'timed out after {opts.timeout_s:g} s; torn down'
            else:
                status = STATUS_OK if exit_code == 0 else STATUS_FAILED
                detail = f'exited with {exit_code}'
            record['mechanism'] = run.mechanism
    finally:
        if out is not None:
            out.close()
    if tdown is None:  # never started: nothing can carry the tag, but make sure
        tdown = _stop_tag(run_id, None, opts)
    after_teardown = take_snapshot()
    cleaned = cleanup(index, total)
    after = take_snapshot()
    record.update({
        'status': status, 'exit_code': exit_code, 'detail': detail,
        'duration_s': duration,
        'memory': {'before': memory_record(before), 'peak': peak.as_dict(),
                   'after_teardown': memory_record(after_teardown),
                   'after': memory_record(after)},
        'teardown': tdown, 'cleanup': cleaned,
        'leftovers': _leftovers(run_id, opts),
        'recovered': recovered,
        'finished_at': time.time(),
    })
    record['overhead_s'] = time.monotonic() - begin - duration
    ledger.append(record)
    return record


@contextlib.contextmanager
def _sigterm_interrupts():
    """In the main thread, SIGTERM raises KeyboardInterrupt (as Ctrl-C does) while runs go on,
    so the current run is stopped either way."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f'signal {signum}')
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _prepare(table: RunTable, template: Sequence[str], ledger_path: str, resume: bool):
    check_template(template, table)
    commands = [fill_template(template, row, i) for i, row in enumerate(table.rows)]
    state = read_ledger(ledger_path)
    if state.header is not None:
        if state.header.get('fingerprint') != table.fingerprint:
            raise ValueError(f'ledger {ledger_path} belongs to another table '
                             f'({state.header.get("table")}, {state.header.get("total_runs")} '
                             f'runs); give a new --ledger path for {table.path}')
        if not resume:
            raise ValueError(f'ledger {ledger_path} already holds {len(state.finished)} '
                             f'finished runs of this table: pass --resume to continue it, '
                             f'or give a new --ledger path')
    return commands, state


def run_batch(table: RunTable, template: Sequence[str], ledger_path: str,
              options: Optional[SequencerOptions] = None, *, resume: bool = False,
              cleanup: Optional[CleanupFn] = None,
              on_start: Optional[Callable[[int, int, int], None]] = None,
              on_finish: Optional[Callable[[dict, int, int], None]] = None) -> BatchResult:
    """Run every row of ``table`` with ``template``; record each run in ``ledger_path``.

    :param cleanup: ``cleanup(run_index, total_runs) -> dict`` between runs
        (see :func:`report_record` for the fields); default: the in-process
        comprehensive between-runs plan.
    :param on_start: ``on_start(index, position, count)`` before each run
        (position 0-based among the ``count`` runs to do now).
    :param on_finish: ``on_finish(record, position, count)`` after each run.
    :raises ValueError: bad template, ledger of another table, existing ledger
        without ``resume``, unwritable ledger — before any run starts.
    """
    opts = options or SequencerOptions()
    cleanup = cleanup or in_process_cleanup()
    start = time.monotonic()
    commands, state = _prepare(table, template, ledger_path, resume)
    total = len(table)
    records: List[dict] = []
    with Ledger(ledger_path) as ledger, _sigterm_interrupts():
        if state.header is None:
            ledger.append(header_record(table.path, table.fingerprint, total, list(template),
                                        list(table.columns)))
        recovered: Dict[int, dict] = {}
        for started in state.interrupted:
            _log.warning('run %d (%s) was interrupted: tearing down what is left of it',
                         started['index'], started['run_id'])
            found = _stop_tag(started['run_id'], started.get('cgroup'), opts)
            recovered[int(started['index'])] = dict(found, run_id=started['run_id'])
        pending = [i for i in range(total) if i not in state.finished]
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
