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
Cheap reads of the Linux process table straight from ``/proc``.

psutil builds a ``Process`` object and reads several files per process; the
teardown engine scans the whole table several times per second, so this
module reads one file per process (``/proc/PID/stat``) plus one ``stat()``
call for the owner, and reads ``cmdline`` / ``environ`` only when asked. A
selection by run tag alone starts with :func:`environ_may_hold` instead: one
read of ``environ`` per process, and ``stat`` only where the tag's bytes are.

A process is identified by pid *and* start time (``start_ticks``, clock ticks
after boot, the same figure psutil turns into ``create_time``), so a reused
pid is never mistaken for the process seen before.
"""

import fcntl
import logging
import os
import struct
import time
from typing import Dict, NamedTuple, Optional, Tuple

__all__ = ['ProcInfo', 'snapshot', 'read_proc', 'read_cmdline', 'read_environ_var',
           'environ_may_hold', 'environ_value', 'boot_ticks', 'real_uid', 'boot_time',
           'read_bytes', 'read_stat', 'ENV_OK', 'ENV_UNSET', 'ENV_DENIED', 'ENV_GONE', 'ENV_EMPTY']

_log = logging.getLogger(__name__)

ENV_OK = 'ok'
ENV_UNSET = 'unset'
ENV_DENIED = 'denied'
ENV_GONE = 'gone'
# An empty environ: a process in the middle of execve reads as empty for a moment.
ENV_EMPTY = 'empty'
_EMPTY_RETRIES = 3

_CLK_TCK = os.sysconf('SC_CLK_TCK')
_PF_KTHREAD = 0x00200000
_boot_time: Optional[float] = None
# struct pidfd_info (linux/pidfd.h), first version (64 bytes): u64 mask, u64 cgroupid, then
# u32 pid, tgid, ppid, ruid, ...; asked for PIDFD_INFO_CREDS (bit 1).
_PIDFD_GET_INFO = (3 << 30) | (64 << 16) | (0xFF << 8) | 11  # _IOWR(0xFF, 11, 64 bytes)
_PIDFD_INFO_CREDS = struct.pack('=Q56x', 1 << 1)
_PIDFD_RUID_AT = 16 + 3 * 4
_pidfd_info = hasattr(os, 'pidfd_open')  # False once the kernel has said it cannot


def boot_time() -> float:
    """Seconds since the epoch at boot, from ``/proc/stat`` (cached)."""
    global _boot_time
    if _boot_time is None:
        with open('/proc/stat', 'rb') as f:
            for line in f:
                if line.startswith(b'btime'):
                    _boot_time = float(line.split()[1])
                    break
            else:  # pragma: no cover - every Linux has btime
                raise RuntimeError('no btime in /proc/stat')
    return _boot_time


class ProcInfo(NamedTuple):
    """
    One process as read from ``/proc/PID/stat`` (and the owner of ``/proc/PID``).

    An immutable named tuple rather than a frozen dataclass: the table is
    rebuilt several times a second and tuple construction is about 3x cheaper.
    """

    pid: int
    ppid: int
    pgid: int
    sid: int
    uid: int
    state: str
    start_ticks: int
    name: str
    kernel_thread: bool = False

    @property
    def create_time(self) -> float:
        """Start time in seconds since the epoch, as psutil reports it."""
        return boot_time() + self.start_ticks / _CLK_TCK

    @property
    def zombie(self) -> bool:
        return self.state in ('Z', 'X')


def _read(path: str, size: int = 32768) -> bytes:
    """
    Whole file via os.open/os.read (no buffered file object: about 2x cheaper).

    procfs hands over a whole small file in one read, so a short read is the end.
    ``size`` stays below glibc's 128 KiB mmap threshold, where a buffer can cost
    fresh pages on every read; a longer file takes several reads.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.read(fd, size)
        if len(data) < size:
            return data
        chunks = [data]
        while True:
            chunk = os.read(fd, size)
            if not chunk:
                return b''.join(chunks)
            chunks.append(chunk)
    finally:
        os.close(fd)


def read_bytes(path: str) -> bytes:
    """
    Return a whole ``/proc`` file (e.g. ``/proc/PID/maps``).

    Raises ``OSError`` as ``open`` does.
    """
    return _read(path)


def _parse_stat(pid: int, data: bytes, uid: int) -> ProcInfo:
    # comm may contain spaces and parentheses: split at the last ')'.
    lpar = data.index(b'(')
    rpar = data.rindex(b')')
    name = data[lpar + 1:rpar].decode('utf-8', 'replace')
    fields = data[rpar + 2:].split()
    # fields[0] is field 3 of proc(5): state ppid pgrp session ... flags(9) ... starttime(22)
    flags = int(fields[6])
    return ProcInfo(pid, int(fields[1]), int(fields[2]), int(fields[3]), uid,
                    fields[0].decode(), int(fields[19]), name, bool(flags & _PF_KTHREAD))


def read_stat(path: str) -> Tuple[int, bytes]:
    """Return the owner and the contents of a ``/proc/PID/stat`` (raises ``OSError``)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.fstat(fd).st_uid, os.read(fd, 4096)
    finally:
        os.close(fd)


def read_proc(pid: int) -> Optional[ProcInfo]:
    """Read one process; ``None`` when it does not exist (any more)."""
    try:
        uid, data = read_stat(f'/proc/{pid}/stat')
        return _parse_stat(pid, data, uid)
    except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
        return None


def snapshot() -> Dict[int, ProcInfo]:
    """Every process on the machine, keyed by pid (threads are not listed)."""
    table = {}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            info = read_proc(int(entry))
            if info is not None:
                table[info.pid] = info
    return table


def boot_ticks() -> int:
    """
    Clock ticks since boot now: the clock of ``ProcInfo.start_ticks``.

    The kernel counts a start time as ``CLOCK_BOOTTIME`` nanoseconds cut down
    to ticks (in the reader's time namespace, as this reading is), so a
    process with ``start_ticks`` below this figure started before this call.
    """
    return time.clock_gettime_ns(time.CLOCK_BOOTTIME) * _CLK_TCK // 1_000_000_000


def environ_may_hold(needle: bytes) -> Dict[int, bytes]:
    """
    Return the start-up environments that hold ``needle`` or read as empty, by pid.

    One read of ``/proc/PID/environ`` per process and nothing else: a cheap
    first pass before the exact checks, which read ``stat``. Empty (a kernel
    thread, a zombie, a process in the middle of ``execve``) is listed, for
    the exact checks to decide; an environment that cannot be read (gone,
    another user's) is not, since it could never show a variable.
    """
    found = {}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                data = _read(f'/proc/{entry}/environ')
            except OSError:
                continue
            if not data or needle in data:
                found[int(entry)] = data
    return found


def read_cmdline(pid: int) -> str:
    """Return the command line joined with spaces (what patterns match); ``''`` if unreadable."""
    try:
        data = _read(f'/proc/{pid}/cmdline')
    except OSError:
        return ''
    return data.rstrip(b'\0').replace(b'\0', b' ').decode('utf-8', 'replace')


def read_environ_var(pid: int, name: str) -> Tuple[str, Optional[str]]:
    """
    Look up one variable in the start-up environment of ``pid``.

    Returns ``(status, value)``; status is ``ok``, ``unset``, ``denied``
    (another user's process, or hidepid), ``gone``, or ``empty``: no
    environment at all, which is what a process in the middle of ``execve``
    shows for a moment (read again a few times before saying so; callers must
    not take ``empty`` as proof that the variable is unset). Errors are data.
    """
    for attempt in range(_EMPTY_RETRIES):
        try:
            data = _read(f'/proc/{pid}/environ')
        except PermissionError:
            return ENV_DENIED, None
        except (FileNotFoundError, ProcessLookupError):
            return ENV_GONE, None
        except OSError:
            return ENV_DENIED, None
        if data:
            break
        time.sleep(0.001 * (attempt + 1))
    else:
        return ENV_EMPTY, None
    return environ_value(data, name)


def environ_value(data: bytes, name: str) -> Tuple[str, Optional[str]]:
    """
    Return ``(ok, value)`` or ``(unset, None)`` for variable ``name`` in an environment.

    ``data`` is the non-empty contents of a ``/proc/PID/environ``; the first occurrence counts,
    as getenv finds it.
    """
    key = name.encode() + b'='
    if data.startswith(key):
        start = len(key)
    else:
        idx = data.find(b'\0' + key)
        if idx < 0:
            return ENV_UNSET, None
        start = idx + 1 + len(key)
    end = data.find(b'\0', start)
    value = data[start:] if end < 0 else data[start:end]
    return ENV_OK, value.decode('utf-8', 'replace')


def real_uid(pid: int) -> Optional[int]:
    """
    Return the real uid of ``pid``, ``None`` when the process is gone.

    The cheap owner of ``/proc/PID`` can be root for non-dumpable processes.

    Asks the kernel through a pidfd (``PIDFD_GET_INFO``, Linux 6.13 and later:
    about 4 us, where generating ``/proc/PID/status`` costs about 10 us); reads
    ``status`` on older kernels.
    """
    global _pidfd_info
    if _pidfd_info:
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            return None
        except OSError:  # no pidfd_open here
            _pidfd_info = False
        else:
            try:
                info = bytearray(_PIDFD_INFO_CREDS)
                fcntl.ioctl(fd, _PIDFD_GET_INFO, info)
                return struct.unpack_from('=I', info, _PIDFD_RUID_AT)[0]
            except ProcessLookupError:  # exited since: status still tells a zombie's uid
                pass
            except OSError:  # an older kernel: no such ioctl
                _pidfd_info = False
            finally:
                os.close(fd)
    try:
        data = _read(f'/proc/{pid}/status')
    except OSError:
        return None
    idx = data.find(b'\nUid:')
    return int(data[idx + 5:data.index(b'\n', idx + 5)].split()[0]) if idx >= 0 else None
