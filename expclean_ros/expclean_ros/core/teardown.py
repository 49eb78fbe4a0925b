"""Stop every process of a selection — and nothing else.

Escalates like ``ros2 launch`` does on shutdown, but for the whole run rather
than only its direct children: SIGINT, wait, SIGTERM, wait, SIGKILL, wait.
SIGINT goes to the tops of the selected trees first (a process whose parent is
not selected: a ``ros2 launch``, an orphan), so a launcher runs its own orderly
shutdown of its children; a process whose parent has exited becomes a top and
gets its SIGINT then. After the SIGINT grace, the selected processes that got
none yet get theirs and one more grace. No process gets two SIGINTs from us.
Between and during the waits the selection is scanned again, so children
forked during teardown are stopped too. A process is pid + start time: it is
signalled through a pidfd opened after checking its start time (or, without
pidfd support, re-checked just before ``kill``), so a reused pid is never hit.
Zombies count as gone; zombies that are our own children are reaped.

Default timeouts are 2.0 s (SIGINT) + 2.0 s (SIGTERM) + 1.0 s (SIGKILL):
shorter than ``ros2 launch``'s 5 s + 5 s, meant for between-run use, where a
node that needs more than 2 s to handle Ctrl-C is stopped with SIGTERM.
"""

import errno
import logging
import os
import select as _select
import signal
import time
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Tuple

from . import cgroups, proctable
from .results import FAILED, OK, StepResult
from .selection import (Candidate, PatternTimeout, Selection, _Scanner,  # noqa: F401
                        check_root, select, DEFAULT_PROTECT, DEFAULT_TAG_VARIABLE,
                        NO_SELECTION_MESSAGE)

__all__ = ['Selection', 'Candidate', 'select', 'teardown', 'teardown_step', 'ProcessOutcome',
           'TeardownResult', 'DEFAULT_SIGINT_TIMEOUT_S', 'DEFAULT_SIGTERM_TIMEOUT_S',
           'DEFAULT_SIGKILL_TIMEOUT_S', 'DEFAULT_PROTECT', 'DEFAULT_TAG_VARIABLE',
           'NO_SELECTION_MESSAGE', 'STAGES']

_log = logging.getLogger(__name__)

DEFAULT_SIGINT_TIMEOUT_S = 2.0
DEFAULT_SIGTERM_TIMEOUT_S = 2.0
DEFAULT_SIGKILL_TIMEOUT_S = 1.0
_TICK_S = 0.01
_RESCAN_S = 0.1

LEFT_D_STATE = 'uninterruptible sleep (D state)'
LEFT_DENIED = 'permission denied'
LEFT_RUNNING = 'still running'
ZOMBIE_NOT_OURS = 'zombie not ours'


#: Every value of ProcessOutcome.stage (ProcessInfo's STAGE_ constants say the same).
STAGES = ('sigint', 'sigterm', 'sigkill', 'left', 'would_stop')


@dataclass(frozen=True)
class ProcessOutcome:
    """What happened to one selected process.

    ``stage``: ``sigint`` | ``sigterm`` | ``sigkill`` (the stage during which it
    exited), ``left``, or ``would_stop`` (dry run). ``why`` explains a ``left``
    (``uninterruptible sleep (D state)``, ``permission denied``, ``still
    running``) or notes ``zombie not ours`` for a gone process whose parent has
    not reaped it. ``exit_code`` is set when we reaped it (negative = signal).
    """

    candidate: Candidate
    stage: str
    why: str = ''
    exit_code: Optional[int] = None

    @property
    def pid(self) -> int:
        return self.candidate.pid

    def as_dict(self) -> dict:
        d = self.candidate.as_dict()
        d.update({'stage': self.stage, 'why': self.why, 'exit_code': self.exit_code})
        return d


@dataclass(frozen=True)
class TeardownResult:
    """Outcome of one teardown: per process, the stage it exited at, and who is left."""

    processes: Tuple[ProcessOutcome, ...]
    mechanism: str
    signal_via: str
    seconds: float
    dry_run: bool = False
    killed: int = 0

    @property
    def stopped(self) -> int:
        return sum(1 for p in self.processes if p.stage in ('sigint', 'sigterm', 'sigkill'))

    @property
    def left(self) -> Tuple[ProcessOutcome, ...]:
        return tuple(p for p in self.processes if p.stage == 'left')

    def stage_of(self, pid: int) -> Optional[str]:
        for p in self.processes:
            if p.pid == pid:
                return p.stage
        return None

    def summary(self) -> str:
        if self.dry_run:
            return f'would stop {len(self.processes)} processes ({self.mechanism})'
        text = (f'stopped {self.stopped} processes ({len(self.left)} left) in '
                f'{self.seconds:.2f} s via {self.mechanism}')
        if self.left:
            text += ': ' + ', '.join(f'{p.pid} {p.candidate.name} ({p.why})' for p in self.left)
        return text

    def as_dict(self) -> dict:
        return {'stopped': self.stopped, 'left': len(self.left), 'killed': self.killed,
                'mechanism': self.mechanism, 'signal_via': self.signal_via,
                'seconds': self.seconds, 'dry_run': self.dry_run,
                'processes': [p.as_dict() for p in self.processes]}


@dataclass
class _Tracked:
    cand: Candidate
    pidfd: Optional[int] = None
    stage: Optional[str] = None
    why: str = ''
    exit_code: Optional[int] = None
    denied: bool = False
    sigint: bool = False  # SIGINT sent: never a second one


_HAVE_PIDFD = hasattr(os, 'pidfd_open') and hasattr(signal, 'pidfd_send_signal')


def _same(cand: Candidate) -> Optional[proctable.ProcInfo]:
    info = proctable.read_proc(cand.pid)
    if info is None or info.start_ticks != cand.start_ticks:
        return None
    return info


def _open(cand: Candidate) -> Tuple[Optional[int], bool]:
    """(pidfd or None, still the same process)."""
    fd = None
    if _HAVE_PIDFD:
        try:
            fd = os.pidfd_open(cand.pid)
        except OSError as exc:
            if exc.errno == errno.ESRCH:
                return None, False
            fd = None  # EMFILE, ENOSYS: fall back to kill
    if _same(cand) is None:  # checked after opening: the fd refers to this very process
        if fd is not None:
            os.close(fd)
        return None, False
    return fd, True


def _signal(t: _Tracked, sig: int) -> None:
    try:
        if t.pidfd is not None:
            signal.pidfd_send_signal(t.pidfd, sig)
        elif _same(t.cand) is not None:
            os.kill(t.cand.pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        t.denied = True


_HAVE_WAITID_PIDFD = hasattr(os, 'waitid') and hasattr(os, 'P_PIDFD')


def _reap(t: _Tracked) -> None:
    """Reap ``t`` if it is our exited child: through its pidfd, which cannot name another
    process; without one, only after checking it is still the same (unreaped) process."""
    if t.pidfd is not None and _HAVE_WAITID_PIDFD:
        try:
            res = os.waitid(os.P_PIDFD, t.pidfd, os.WEXITED | os.WNOHANG)
        except ChildProcessError:
            return
        except OSError as exc:
            if exc.errno != errno.EINVAL:  # EINVAL: kernel < 5.4 lacks P_PIDFD
                return
        else:
            if res is not None and res.si_pid:
                t.exit_code = (res.si_status if res.si_code == os.CLD_EXITED
                               else -res.si_status)
            return
    if _same(t.cand) is None:
        return  # gone or another process: its pid is not ours to wait for
    try:
        pid, status = os.waitpid(t.cand.pid, os.WNOHANG)
    except ChildProcessError:
        return
    if pid:
        t.exit_code = (-os.WTERMSIG(status) if os.WIFSIGNALED(status)
                       else os.WEXITSTATUS(status))


def _gone(t: _Tracked, reap: bool = True) -> bool:
    if reap:
        _reap(t)
    if t.exit_code is not None:
        return True
    info = _same(t.cand)
    if info is None:
        return True
    if info.zombie:
        if _threads_exiting(t.cand.pid):
            return False  # open files (and their flocks) go with the last thread
        t.why = ZOMBIE_NOT_OURS
        return True
    return False


def _threads_exiting(pid: int) -> bool:
    """True while other threads of a zombie leader are still exiting.

    The leader turns zombie first; the files it shared with its threads are
    closed only when the last thread exits. Until then, locks it held (e.g.
    Fast DDS's shared-memory flocks) are still taken.
    """
    try:
        return len(os.listdir(f'/proc/{pid}/task')) > 1
    except OSError:
        return False


def _close(t: _Tracked) -> None:
    if t.pidfd is not None:
        os.close(t.pidfd)
        t.pidfd = None


def teardown(selection: Selection, sigint_timeout_s: float = DEFAULT_SIGINT_TIMEOUT_S,
             sigterm_timeout_s: float = DEFAULT_SIGTERM_TIMEOUT_S,
             sigkill_timeout_s: float = DEFAULT_SIGKILL_TIMEOUT_S, dry_run: bool = False,
             after_sigkill: Optional[Callable[[int], None]] = None,
             presignalled: Optional[Callable[[proctable.ProcInfo], bool]] = None,
             reap: bool = True) -> TeardownResult:
    """Stop every process of ``selection``: SIGINT, wait, SIGTERM, wait, SIGKILL, wait.

    :param after_sigkill: called with the number of processes that needed
        SIGKILL, once, after the SIGKILL stage (only when one was needed), e.g.
        to clean up Fast DDS shared memory those processes could not release.
    :param presignalled: true for a process that got its SIGINT from someone
        else (e.g. the children of a ``ros2 launch`` that is shutting down
        them): we send it none, only the later stages after the grace.
    :param reap: reap our own exited children; ``False`` where another part of
        this process waits for them (launch's child watcher in a launch action).
    :raises ValueError: a ``root_pid`` that does not exist, negative timeouts,
        patterns that ran past the selection's ``time_limit_s`` in the first scan.
    """
    for name, value in (('sigint_timeout_s', sigint_timeout_s),
                        ('sigterm_timeout_s', sigterm_timeout_s),
                        ('sigkill_timeout_s', sigkill_timeout_s)):
        if value < 0:
            raise ValueError(f'{name} must be zero or more, got {value}')
    start = time.monotonic()
    check_root(selection)
    scanner = _Scanner(selection)
    via = 'pidfd' if _HAVE_PIDFD else 'kill'
    if dry_run:
        found = scanner.scan()
        return TeardownResult(tuple(ProcessOutcome(found[p], 'would_stop') for p in sorted(found)),
                              selection.mechanism, via, time.monotonic() - start, dry_run=True)
    tracked: Dict[Tuple[int, int], _Tracked] = {}  # (pid, start_ticks): a reused pid is new
    killed = 0
    rest_done = False

    def rescan(sig: Optional[int], stage: str) -> None:
        try:
            found = scanner.scan()
        except PatternTimeout as exc:
            if sig is None:
                raise  # the first scan: refused before any signal
            _log.warning('teardown %s: rescan skipped: %s', stage, exc)
            return
        if selection.cgroup:
            _evict(selection.cgroup, found)
        for pid, cand in found.items():
            key = (pid, cand.start_ticks)
            if key in tracked:
                continue
            fd, same = _open(cand)
            if not same:
                continue
            t = tracked[key] = _Tracked(cand, fd)
            if presignalled is not None:
                info = _same(cand)
                t.sigint = info is not None and bool(presignalled(info))
            if sig is not None and sig != signal.SIGINT:
                _signal(t, sig)
                _log.debug('%s -> %d %s (%s)', stage, pid, cand.name, cand.reason)
        if sig == signal.SIGINT:
            _interrupt(tracked, tops_only=True)

    stages = ((signal.SIGINT, 'sigint', sigint_timeout_s),
              (signal.SIGTERM, 'sigterm', sigterm_timeout_s),
              (signal.SIGKILL, 'sigkill', sigkill_timeout_s))
    try:
        rescan(None, '')  # track (and evict the spared from the cgroup) before any signal
        for sig, stage, timeout in stages:
            if sig != signal.SIGINT:
                for t in tracked.values():
                    if t.stage is None and not t.denied:
                        _signal(t, sig)
            rescan(sig, stage)  # new processes get this stage's signal at once (SIGINT: tops)
            if sig == signal.SIGKILL:
                killed = sum(1 for t in tracked.values() if t.stage is None)
                if selection.cgroup and _only_tracked(selection.cgroup, tracked):
                    cgroups.kill(selection.cgroup)  # also hits forks racing the scan
            deadline = time.monotonic() + timeout
            next_scan = time.monotonic() + _RESCAN_S
            finished = False
            while True:
                for t in tracked.values():
                    if t.stage is None and _gone(t, reap):
                        t.stage = stage
                        _close(t)
                now = time.monotonic()
                alive = _alive(tracked)
                if not alive or now >= next_scan:
                    rescan(sig, stage)
                    next_scan = now + _RESCAN_S
                    if not alive and not _alive(tracked):
                        finished = True  # everyone gone, nobody new: no further stage
                        break
                    alive = _alive(tracked)
                if now >= deadline:
                    if sig == signal.SIGINT and not rest_done:
                        rest_done = True
                        if _interrupt(tracked, tops_only=False):
                            deadline = now + timeout  # the rest got their SIGINT: one more grace
                            continue
                    break
                _wait(alive, min(_TICK_S, deadline - now))
            if finished:
                break
        if killed and after_sigkill is not None:
            try:
                after_sigkill(killed)
            except Exception:  # a hook failing never hides the teardown result
                _log.exception('after_sigkill hook failed')
    finally:
        for t in tracked.values():
            _close(t)
    outcomes = []
    for key in sorted(tracked):
        t = tracked[key]
        if t.stage is None:
            info = _same(t.cand)
            why = (LEFT_DENIED if t.denied else
                   LEFT_D_STATE if info is not None and info.state == 'D' else LEFT_RUNNING)
            outcomes.append(ProcessOutcome(t.cand, 'left', why))
        else:
            outcomes.append(ProcessOutcome(t.cand, t.stage, t.why, t.exit_code))
    result = TeardownResult(tuple(outcomes), selection.mechanism, via,
                            time.monotonic() - start, killed=killed)
    _log.info('teardown: %s', result.summary())
    return result


def _interrupt(tracked, tops_only: bool) -> int:
    """SIGINT, once each, to the live tracked processes that had none; with ``tops_only``,
    only to those whose parent is not a live tracked process. Returns how many got one."""
    live = {t.cand.pid: t.cand.start_ticks for t in tracked.values() if t.stage is None}
    sent = 0
    for t in tracked.values():
        if t.stage is not None or t.denied or t.sigint:
            continue
        if tops_only:
            info = _same(t.cand)
            parent = proctable.read_proc(info.ppid) if info is not None else None
            if parent is not None and live.get(parent.pid) == parent.start_ticks:
                continue  # its parent is being stopped: let it stop its children first
        t.sigint = True
        _signal(t, signal.SIGINT)
        _log.debug('sigint -> %d %s (%s)', t.cand.pid, t.cand.name, t.cand.reason)
        sent += 1
    return sent


def _evict(path: str, found: Dict[int, Candidate]) -> None:
    """Move every member of the run's cgroup that is not selected (protected, the caller,
    other users) to the parent cgroup: ``cgroup.kill`` must not reach it, and it must not
    keep the cgroup from being removed."""
    for pid in cgroups.procs(path) - set(found):
        if cgroups.move_to_parent(path, pid):
            _log.info('pid %d is spared: moved out of cgroup %s', pid, path)


def _only_tracked(path: str, tracked) -> bool:
    """Whether every live member of the cgroup is a process we selected and track."""
    ours = {t.cand.pid: t.cand.start_ticks for t in tracked.values() if t.stage is None}
    for pid in cgroups.procs(path):
        info = proctable.read_proc(pid)
        if info is None or info.zombie:
            continue
        if ours.get(pid) != info.start_ticks:
            _log.warning('cgroup %s holds pid %d that is not selected: no cgroup.kill, '
                         'SIGKILL by pid only', path, pid)
            return False
    return True


def _alive(tracked):
    return [t for t in tracked.values() if t.stage is None and not t.denied]


def _wait(alive, timeout: float) -> None:
    """Sleep up to ``timeout``, waking early when a pidfd reports an exit."""
    fds = [t.pidfd for t in alive if t.pidfd is not None]
    if fds and len(fds) == len(alive):
        poller = _select.poll()
        for fd in fds:
            poller.register(fd, _select.POLLIN)
        poller.poll(max(0.0, timeout) * 1000)
    else:
        time.sleep(max(0.0, timeout))


def teardown_step(selection: Selection, name: str = 'teardown', **kwargs) -> StepResult:
    """:func:`teardown` as a cleanup step: ``ok`` when nobody is left, else ``failed``.

    ``data`` carries ``stopped``, ``left``, ``killed``, ``mechanism`` and
    ``processes`` (a list of dicts).
    """
    result = teardown(selection, **kwargs)
    status = OK if not result.left else FAILED
    return StepResult(name, status, result.summary(), result.seconds, result.as_dict())
