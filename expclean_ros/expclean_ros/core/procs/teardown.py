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
Stop every process of a selection — and nothing else.

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

Default timeouts (:mod:`.escalation`): 2 s (SIGINT) + 2 s (SIGTERM) + 1 s (SIGKILL).

Owners of shared memory (torch's ``torch_shm_manager``, which unlinks its
clients' ``/dev/shm`` files 2 s after the last client has gone, and leaves
them behind when a signal ends it) go last: no signal while any other
selected process lives, then ``owner_grace_s`` (5 s) to exit by themselves,
then the stages for whoever is left.
"""

import logging
import signal
import time
from typing import Callable, Dict, Optional, Tuple

from . import cgroups, proctable
from .escalation import (DEFAULT_SIGINT_TIMEOUT_S, DEFAULT_SIGKILL_TIMEOUT_S,
                         DEFAULT_SIGTERM_TIMEOUT_S)
from .cgroup_eviction import evict_spared, only_tracked
from .outcome import (EXITED, LEFT_D_STATE, LEFT_DENIED, LEFT_RUNNING, ProcessOutcome,
                      TeardownResult)
from .pidfd import (HAVE_PIDFD, Tracked, close_pidfd, gone, open_checked, same_process,
                    send_signal, wait_for_exit)
from .patterns import PatternTimeout
from .scanner import Scanner, check_root
from .selection import Selection

__all__ = ['teardown', 'is_shm_owner', 'DEFAULT_OWNER_GRACE_S', 'DEFAULT_SIGINT_TIMEOUT_S',
           'DEFAULT_SIGTERM_TIMEOUT_S', 'DEFAULT_SIGKILL_TIMEOUT_S']

_log = logging.getLogger(__name__)

#: torch_shm_manager exits 2 s after its last client (SHUTDOWN_TIMEOUT in libshm).
DEFAULT_OWNER_GRACE_S = 5.0
_SHM_MANAGER = 'torch_shm_manager'
_TICK_S = 0.01
_RESCAN_S = 0.1


def teardown(selection: Selection, sigint_timeout_s: float = DEFAULT_SIGINT_TIMEOUT_S,
             sigterm_timeout_s: float = DEFAULT_SIGTERM_TIMEOUT_S,
             sigkill_timeout_s: float = DEFAULT_SIGKILL_TIMEOUT_S, dry_run: bool = False,
             after_sigkill: Optional[Callable[[int], None]] = None,
             presignalled: Optional[Callable[[proctable.ProcInfo], bool]] = None,
             reap: bool = True,
             owner_grace_s: float = DEFAULT_OWNER_GRACE_S) -> TeardownResult:
    """
    Stop every process of ``selection``: SIGINT, wait, SIGTERM, wait, SIGKILL, wait.

    :param after_sigkill: called with the number of processes that needed
        SIGKILL, once, after the SIGKILL stage (only when one was needed), e.g.
        to clean up Fast DDS shared memory those processes could not release.
    :param presignalled: true for a process that got its SIGINT from someone
        else (e.g. the children of a ``ros2 launch`` that is shutting down
        them): we send it none, only the later stages after the grace.
    :param owner_grace_s: owners of shared memory (torch's ``torch_shm_manager``) get no
        signal until every other selected process is gone, then this long to exit by
        themselves (stage ``exited``), unlinking what they own; then the stages. 0: no
        such order.
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
    scanner = Scanner(selection)
    via = 'pidfd' if HAVE_PIDFD else 'kill'
    if dry_run:
        found = scanner.scan()
        return TeardownResult(tuple(ProcessOutcome(found[p], 'would_stop') for p in sorted(found)),
                              selection.mechanism, via, time.monotonic() - start, dry_run=True)
    tracked: Dict[Tuple[int, int], Tracked] = {}  # (pid, start_ticks): a reused pid is new
    held = set()  # keys of owners held back from every signal while their clients live
    killed = 0
    rest_done = False

    def signalled():
        return {k: t for k, t in tracked.items() if k not in held}

    def rescan(sig: Optional[int], stage: str) -> None:
        try:
            found = scanner.scan()
        except PatternTimeout as exc:
            if sig is None:
                raise  # the first scan: refused before any signal
            _log.warning('teardown %s: rescan skipped: %s', stage, exc)
            return
        if selection.cgroup:
            evict_spared(selection.cgroup, found)
        for pid, cand in found.items():
            key = (pid, cand.start_ticks)
            if key in tracked:
                continue
            fd, same = open_checked(cand)
            if not same:
                continue
            t = tracked[key] = Tracked(cand, fd)
            if holding and is_shm_owner(cand):
                held.add(key)
                continue
            if presignalled is not None:
                info = same_process(cand)
                t.sigint = info is not None and bool(presignalled(info))
            if sig is not None and sig != signal.SIGINT:
                send_signal(t, sig)
                _log.debug('%s -> %d %s (%s)', stage, pid, cand.name, cand.reason)
        if sig == signal.SIGINT:
            _interrupt(signalled(), tops_only=True)

    def escalate() -> None:
        nonlocal killed, rest_done
        rest_done = False
        for sig, stage, timeout in stages:
            if sig != signal.SIGINT:
                for t in signalled().values():
                    if t.stage is None and not t.denied:
                        send_signal(t, sig)
            rescan(sig, stage)  # new processes get this stage's signal at once (SIGINT: tops)
            if sig == signal.SIGKILL:
                killed += sum(1 for t in signalled().values() if t.stage is None)
                if not held and selection.cgroup and only_tracked(selection.cgroup, tracked):
                    cgroups.kill(selection.cgroup)  # also hits forks racing the scan
            if wait_stage(sig, stage, timeout):
                return

    def wait_stage(sig, stage, timeout) -> bool:
        """Wait for this stage; True when everyone signalled is gone (no further stage)."""
        nonlocal rest_done
        deadline = time.monotonic() + timeout
        next_scan = time.monotonic() + _RESCAN_S
        while True:
            _note_gone(signalled(), stage, reap)
            _note_gone({k: tracked[k] for k in held}, EXITED, reap)
            now = time.monotonic()
            alive = _alive(signalled())
            if not alive or now >= next_scan:
                rescan(sig, stage)
                next_scan = now + _RESCAN_S
                if not alive and not _alive(signalled()):
                    return True  # everyone gone, nobody new: no further stage
                alive = _alive(signalled())
            if now >= deadline:
                if sig == signal.SIGINT and not rest_done:
                    rest_done = True
                    if _interrupt(signalled(), tops_only=False):
                        deadline = now + timeout  # the rest got their SIGINT: one more grace
                        continue
                return False
            wait_for_exit(alive, min(_TICK_S, deadline - now))

    stages = ((signal.SIGINT, 'sigint', sigint_timeout_s),
              (signal.SIGTERM, 'sigterm', sigterm_timeout_s),
              (signal.SIGKILL, 'sigkill', sigkill_timeout_s))
    holding = owner_grace_s > 0
    try:
        rescan(None, '')  # track (and evict the spared from the cgroup) before any signal
        escalate()
        holding = False
        if held:  # their clients are gone: the owners unlink their files and exit by themselves
            _owner_grace([tracked[k] for k in held], owner_grace_s, reap)
            held.clear()
            if _alive(tracked):
                escalate()
        if killed and after_sigkill is not None:
            try:
                after_sigkill(killed)
            except Exception:  # a hook failing never hides the teardown result
                _log.exception('after_sigkill hook failed')
    finally:
        for t in tracked.values():
            close_pidfd(t)
    outcomes = []
    for key in sorted(tracked):
        t = tracked[key]
        if t.stage is None:
            info = same_process(t.cand)
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
    """
    SIGINT, once each, to the live tracked processes that had none.

    With ``tops_only``, only to those whose parent is not a live tracked process. Returns how many
    got one.
    """
    live = {t.cand.pid: t.cand.start_ticks for t in tracked.values() if t.stage is None}
    sent = 0
    for t in tracked.values():
        if t.stage is not None or t.denied or t.sigint:
            continue
        if tops_only:
            info = same_process(t.cand)
            parent = proctable.read_proc(info.ppid) if info is not None else None
            if parent is not None and live.get(parent.pid) == parent.start_ticks:
                continue  # its parent is being stopped: let it stop its children first
        t.sigint = True
        send_signal(t, signal.SIGINT)
        _log.debug('sigint -> %d %s (%s)', t.cand.pid, t.cand.name, t.cand.reason)
        sent += 1
    return sent


def _alive(tracked):
    return [t for t in tracked.values() if t.stage is None and not t.denied]


def _note_gone(tracked, stage: str, reap: bool) -> None:
    for t in tracked.values():
        if t.stage is None and gone(t, reap):
            t.stage = stage
            close_pidfd(t)


def is_shm_owner(cand) -> bool:
    """
    Tell whether a process is torch's ``torch_shm_manager``.

    It unlinks its clients' shared memory once they are gone (2 s after the last one), unless a
    signal ends it first.
    """
    return cand.name == _SHM_MANAGER[:15] or \
        cand.cmdline.split(' ', 1)[0].rsplit('/', 1)[-1] == _SHM_MANAGER


def _owner_grace(owners, grace_s: float, reap: bool) -> None:
    """Wait up to ``grace_s`` for ``owners`` to exit by themselves (stage ``exited``)."""
    deadline = time.monotonic() + grace_s
    while True:
        _note_gone({id(t): t for t in owners}, EXITED, reap)
        alive = _alive({id(t): t for t in owners})
        now = time.monotonic()
        if not alive or now >= deadline:
            return
        wait_for_exit(alive, min(_TICK_S * 5, deadline - now))
