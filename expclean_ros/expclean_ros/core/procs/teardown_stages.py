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
The teardown engine in stages: select, signal, wait, escalate, verify.

:class:`Escalation` holds one teardown's state (the processes tracked, the owners of shared
memory held back, how many needed SIGKILL) and has one method per stage, each usable on its own;
:func:`~.teardown.teardown` runs them in order. See :mod:`.teardown` for the rules they follow.
"""

import logging
import signal
import time
from typing import Callable, Dict, List, Optional, Tuple

from . import cgroups, proctable
from .cgroup_eviction import evict_spared, only_tracked
from .escalation import DEFAULT_STOP_TIMEOUTS_S
from .outcome import (EXITED, LEFT_D_STATE, LEFT_DENIED, LEFT_RUNNING, ProcessOutcome,
                      TeardownResult)
from .patterns import PatternTimeout
from .pidfd import (SIGNAL_VIA, Tracked, alive, close_pidfd, note_gone, open_checked,
                    same_process, send_signal, wait_for_exit)
from .scanner import Scanner
from .selection import Candidate, Selection

__all__ = ['Escalation', 'is_shm_owner', 'DEFAULT_OWNER_GRACE_S', 'STAGE_SIGNALS']

_log = logging.getLogger(__name__)

#: torch_shm_manager exits 2 s after its last client (SHUTDOWN_TIMEOUT in libshm).
DEFAULT_OWNER_GRACE_S = 5.0
#: The stages in order: (signal, stage name).
STAGE_SIGNALS = ((signal.SIGINT, 'sigint'), (signal.SIGTERM, 'sigterm'),
                 (signal.SIGKILL, 'sigkill'))
_SHM_MANAGER = 'torch_shm_manager'
_TICK_S = 0.01
_RESCAN_S = 0.1


def is_shm_owner(cand) -> bool:
    """
    Tell whether a process is torch's ``torch_shm_manager``.

    It unlinks its clients' shared memory once they are gone (2 s after the last one), unless a
    signal ends it first.
    """
    return cand.name == _SHM_MANAGER[:15] or \
        cand.cmdline.split(' ', 1)[0].rsplit('/', 1)[-1] == _SHM_MANAGER


class Escalation:
    """
    One teardown of ``selection``: the state its stages share, and one method per stage.

    ``tracked`` maps (pid, start ticks) to a :class:`~.pidfd.Tracked` (a reused pid is a new
    key); ``held`` holds the keys of owners of shared memory held back from every signal while
    ``holding``; ``killed`` counts the processes that needed SIGKILL.
    """

    def __init__(self, selection: Selection,
                 timeouts_s: Tuple[float, float, float] = DEFAULT_STOP_TIMEOUTS_S,
                 presignalled: Optional[Callable[[proctable.ProcInfo], bool]] = None,
                 reap: bool = True, owner_grace_s: float = DEFAULT_OWNER_GRACE_S,
                 scanner: Optional[Scanner] = None):
        self.selection = selection
        self.scanner = scanner if scanner is not None else Scanner(selection)
        self.stages = tuple((sig, name, timeout)
                            for (sig, name), timeout in zip(STAGE_SIGNALS, timeouts_s))
        self.presignalled = presignalled
        self.reap = reap
        self.owner_grace_s = owner_grace_s
        self.tracked: Dict[Tuple[int, int], Tracked] = {}
        self.held = set()
        self.holding = owner_grace_s > 0
        self.killed = 0
        self.rest_done = False  # the SIGINT stage sent the rest (not only the tops) theirs

    def signalled(self) -> Dict[Tuple[int, int], Tracked]:
        """Return the tracked processes that get signals (every one but the owners held)."""
        return {k: t for k, t in self.tracked.items() if k not in self.held}

    def alive(self) -> List[Tracked]:
        """Return the signalled processes not yet gone (and not out of our reach)."""
        return alive(self.signalled().values())

    def select(self, stage: Optional[str] = None) -> Optional[List[Tracked]]:
        """
        Scan the selection and track the processes new to us; return those not held back.

        The run's cgroup loses its members that are not selected; an owner of shared memory is
        held back while ``holding``. A scan past the selection's time limit raises
        :class:`~.patterns.PatternTimeout` in the first scan (``stage`` None, before any
        signal); a rescan during ``stage`` logs it and returns None.
        """
        try:
            found = self.scanner.scan()
        except PatternTimeout as exc:
            if stage is None:
                raise
            _log.warning('teardown %s: rescan skipped: %s', stage, exc)
            return None
        if self.selection.cgroup:
            evict_spared(self.selection.cgroup, found)
        new = []
        for cand in found.values():
            t = self._track(cand)
            if t is not None:
                new.append(t)
        return new

    def _track(self, cand: Candidate) -> Optional[Tracked]:
        """Track ``cand`` if new and still the same process; return it unless held back."""
        key = (cand.pid, cand.start_ticks)
        if key in self.tracked:
            return None
        fd, same = open_checked(cand)
        if not same:
            return None
        t = self.tracked[key] = Tracked(cand, fd)
        if self.holding and is_shm_owner(cand):
            self.held.add(key)
            return None
        if self.presignalled is not None:
            info = same_process(cand)
            t.sigint = info is not None and bool(self.presignalled(info))
        return t

    def rescan(self, sig: int, stage: str) -> None:
        """Select again; new processes get this stage's signal at once (SIGINT: the tops)."""
        new = self.select(stage)
        if new is None:
            return
        if sig == signal.SIGINT:
            self.interrupt(tops_only=True)
            return
        for t in new:
            send_signal(t, sig)
            _log.debug('%s -> %d %s (%s)', stage, t.cand.pid, t.cand.name, t.cand.reason)

    def signal(self, sig: int, stage: str) -> None:
        """
        Start a stage: SIGINT to the tops of the trees; any other signal to every live one.

        Then select again. At SIGKILL, count who needed it, and kill the run's cgroup when it
        holds only processes we track and no owner is held back.
        """
        if sig != signal.SIGINT:
            for t in self.signalled().values():
                if t.stage is None and not t.denied:
                    send_signal(t, sig)
        self.rescan(sig, stage)
        if sig == signal.SIGKILL:
            self.killed += sum(1 for t in self.signalled().values() if t.stage is None)
            cgroup = self.selection.cgroup
            if not self.held and cgroup and only_tracked(cgroup, self.tracked):
                cgroups.kill(cgroup)  # also hits forks racing the scan

    def interrupt(self, tops_only: bool) -> int:
        """
        SIGINT, once each, to the live signalled processes that had none; return how many.

        With ``tops_only``, only to those whose parent is not a live tracked process.
        """
        tracked = self.signalled()
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

    def wait(self, sig: int, stage: str, timeout: float) -> bool:
        """
        Wait out a stage; return True when everyone signalled is gone (no further stage).

        Selects again every 0.1 s and whenever everyone seems gone. At the end of the SIGINT
        grace, the processes that had no SIGINT yet get theirs, and one more grace.
        """
        deadline = time.monotonic() + timeout
        next_scan = time.monotonic() + _RESCAN_S
        while True:
            self.note_gone(stage)
            now = time.monotonic()
            left = self.alive()
            if not left or now >= next_scan:
                self.rescan(sig, stage)
                next_scan = now + _RESCAN_S
                if not left and not self.alive():
                    return True  # everyone gone, nobody new: no further stage
                left = self.alive()
            if now >= deadline:
                if sig == signal.SIGINT and self._interrupt_rest():
                    deadline = now + timeout  # the rest got their SIGINT: one more grace
                    continue
                return False
            wait_for_exit(left, min(_TICK_S, deadline - now))

    def _interrupt_rest(self) -> bool:
        """SIGINT, once per escalation, to those not yet interrupted; True when any got one."""
        if self.rest_done:
            return False
        self.rest_done = True
        return self.interrupt(tops_only=False) > 0

    def note_gone(self, stage: str) -> None:
        """Mark who has gone: the signalled at ``stage``, the owners held at ``exited``."""
        note_gone(self.signalled().values(), stage, self.reap)
        note_gone((self.tracked[k] for k in self.held), EXITED, self.reap)

    def escalate(self) -> None:
        """SIGINT, wait, SIGTERM, wait, SIGKILL, wait: until everyone signalled is gone."""
        self.rest_done = False
        for sig, stage, timeout in self.stages:
            self.signal(sig, stage)
            if self.wait(sig, stage, timeout):
                return

    def release_owners(self) -> None:
        """
        Stop holding owners back; give those held ``owner_grace_s`` to exit, then escalate.

        Their clients are gone: the owners unlink their files and exit by themselves.
        """
        self.holding = False
        if not self.held:
            return
        self.owner_grace([self.tracked[k] for k in self.held])
        self.held.clear()
        if alive(self.tracked.values()):
            self.escalate()

    def owner_grace(self, owners: List[Tracked]) -> None:
        """Wait up to ``owner_grace_s`` for ``owners`` to exit by themselves (stage ``exited``)."""
        deadline = time.monotonic() + self.owner_grace_s
        while True:
            note_gone(owners, EXITED, self.reap)
            left = alive(owners)
            now = time.monotonic()
            if not left or now >= deadline:
                return
            wait_for_exit(left, min(_TICK_S * 5, deadline - now))

    def run(self) -> None:
        """Select (raising on a first scan past its time limit), escalate, then the owners."""
        self.select()  # track (and evict the spared from the cgroup) before any signal
        self.escalate()
        self.release_owners()

    def close(self) -> None:
        """Close every pidfd still open."""
        for t in self.tracked.values():
            close_pidfd(t)

    def outcomes(self) -> Tuple[ProcessOutcome, ...]:
        """Return one outcome per tracked process, by pid: its stage, or ``left`` and why."""
        out = []
        for key in sorted(self.tracked):
            t = self.tracked[key]
            if t.stage is None:
                info = same_process(t.cand)
                why = (LEFT_DENIED if t.denied else
                       LEFT_D_STATE if info is not None and info.state == 'D' else LEFT_RUNNING)
                out.append(ProcessOutcome(t.cand, 'left', why))
            else:
                out.append(ProcessOutcome(t.cand, t.stage, t.why, t.exit_code))
        return tuple(out)

    def verify(self, start: float) -> TeardownResult:
        """Return the result of a teardown begun at ``start`` (``time.monotonic()``)."""
        outcomes = self.outcomes()
        return TeardownResult(outcomes, self.selection.mechanism, SIGNAL_VIA,
                              time.monotonic() - start, killed=self.killed)
