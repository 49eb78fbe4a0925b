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
Signal and reap a selected process without ever hitting a reused pid.

A process is pid + start time: it is signalled through a pidfd opened after
checking its start time (or, without pidfd support, re-checked just before
``kill``). Zombies count as gone; zombies that are our own children are reaped.
"""

import errno
import os
import select
import signal
import time
from dataclasses import dataclass
from typing import List, Optional, Set, Tuple

from . import proctable
from .outcome import ZOMBIE_NOT_OURS
from .selection import Candidate

__all__ = ['Tracked', 'HAVE_PIDFD', 'SIGNAL_VIA', 'same_process', 'open_checked', 'send_signal',
           'reap_child', 'gone', 'alive', 'note_gone', 'threads_exiting', 'close_pidfd',
           'wait_for_exit', 'open_pidfd', 'wait_readable']


@dataclass
class Tracked:
    cand: Candidate
    pidfd: Optional[int] = None
    stage: Optional[str] = None
    why: str = ''
    exit_code: Optional[int] = None
    denied: bool = False
    sigint: bool = False  # SIGINT sent: never a second one


HAVE_PIDFD = hasattr(os, 'pidfd_open') and hasattr(signal, 'pidfd_send_signal')
#: How a teardown signals here: through a ``pidfd``, or ``kill`` after a start time check.
SIGNAL_VIA = 'pidfd' if HAVE_PIDFD else 'kill'


def same_process(cand: Candidate) -> Optional[proctable.ProcInfo]:
    info = proctable.read_proc(cand.pid)
    if info is None or info.start_ticks != cand.start_ticks:
        return None
    return info


def open_checked(cand: Candidate) -> Tuple[Optional[int], bool]:
    """(pidfd or None, still the same process)."""
    fd = None
    if HAVE_PIDFD:
        try:
            fd = os.pidfd_open(cand.pid)
        except OSError as exc:
            if exc.errno == errno.ESRCH:
                return None, False
            fd = None  # EMFILE, ENOSYS: fall back to kill
    if same_process(cand) is None:  # checked after opening: the fd refers to this very process
        if fd is not None:
            os.close(fd)
        return None, False
    return fd, True


def send_signal(t: Tracked, sig: int) -> None:
    try:
        if t.pidfd is not None:
            signal.pidfd_send_signal(t.pidfd, sig)
        elif same_process(t.cand) is not None:
            os.kill(t.cand.pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        t.denied = True


HAVE_WAITID_PIDFD = hasattr(os, 'waitid') and hasattr(os, 'P_PIDFD')


def reap_child(t: Tracked) -> None:
    """
    Reap ``t`` if it is our exited child: through its pidfd, which cannot name another process.

    Without one, only after checking it is still the same (unreaped) process.
    """
    if t.pidfd is not None and HAVE_WAITID_PIDFD:
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
    if same_process(t.cand) is None:
        return  # gone or another process: its pid is not ours to wait for
    try:
        pid, status = os.waitpid(t.cand.pid, os.WNOHANG)
    except ChildProcessError:
        return
    if pid:
        t.exit_code = (-os.WTERMSIG(status) if os.WIFSIGNALED(status)
                       else os.WEXITSTATUS(status))


def gone(t: Tracked, reap: bool = True) -> bool:
    if reap:
        reap_child(t)
    if t.exit_code is not None:
        return True
    info = same_process(t.cand)
    if info is None:
        return True
    if info.zombie:
        if threads_exiting(t.cand.pid):
            return False  # open files (and their flocks) go with the last thread
        t.why = ZOMBIE_NOT_OURS
        return True
    return False


def alive(tracked) -> List[Tracked]:
    """Return those of ``tracked`` not yet seen gone, and not out of our reach (denied)."""
    return [t for t in tracked if t.stage is None and not t.denied]


def note_gone(tracked, stage: str, reap: bool) -> None:
    """Set ``stage`` on those of ``tracked`` gone since the last look, and close their pidfds."""
    for t in tracked:
        if t.stage is None and gone(t, reap):
            t.stage = stage
            close_pidfd(t)


def threads_exiting(pid: int) -> bool:
    """
    Return True while other threads of a zombie leader are still exiting.

    The leader turns zombie first; the files it shared with its threads are
    closed only when the last thread exits. Until then, locks it held (e.g.
    Fast DDS's shared-memory flocks) are still taken.
    """
    try:
        return len(os.listdir(f'/proc/{pid}/task')) > 1
    except OSError:
        return False


def close_pidfd(t: Tracked) -> None:
    if t.pidfd is not None:
        os.close(t.pidfd)
        t.pidfd = None


def open_pidfd(pid: int) -> Optional[int]:
    """
    Return a pidfd of ``pid`` (for an unreaped child of ours: its pid cannot be reused meanwhile).

    Or None: no pidfd support (kernel < 5.3), no fd left, or no such process.
    """
    if not hasattr(os, 'pidfd_open'):
        return None
    try:
        return os.pidfd_open(pid)
    except OSError:  # ENOSYS, EMFILE, ESRCH
        return None


def wait_readable(fds, timeout: Optional[float]) -> Set[int]:
    """
    Wait up to ``timeout`` seconds (None: as long as it takes) until one of ``fds`` is readable.

    And return those that are: a pidfd turns readable the moment its process exits (``poll``, not
    ``select``: no limit on an fd's number).
    """
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    return {fd for fd, _ in poller.poll(None if timeout is None else max(0.0, timeout) * 1000)}


def wait_for_exit(alive, timeout: float) -> None:
    """Sleep up to ``timeout``, waking early when a pidfd reports an exit."""
    fds = [t.pidfd for t in alive if t.pidfd is not None]
    if fds and len(fds) == len(alive):
        wait_readable(fds, timeout)
    else:
        time.sleep(max(0.0, timeout))
