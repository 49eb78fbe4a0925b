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
Fast DDS shared memory in ``/dev/shm``: measure it, and remove what killed nodes left.

Fast DDS (the default RMW from Humble to Kilted) keeps its shared-memory
transport in ``/dev/shm``; a node killed with SIGKILL leaves its files behind.
Names (``<d>`` is ``fastdds`` on Fast DDS 3.x (Kilted), ``fastrtps`` on 2.x
(Humble, Jazzy; seen with the Jazzy wheels)):

- segment ``<d>_<16 hex>`` and its lock ``<d>_<16 hex>_el``;
- port ``<d>_port<N>``, its lock ``<d>_port<N>_el`` (exclusive listener) or
  ``<d>_port<N>_sl`` (shared listeners), and ``sem.<d>_port<N>_mutex``.

A live owner holds ``flock`` on the lock file for as long as it runs (Fast DDS's
RobustExclusiveLock / RobustSharedLock); the kernel drops it when the owner
dies. Stale means: a lock file exists and ``flock(LOCK_EX | LOCK_NB)`` on it
succeeds, the rule of ``fastdds shm clean`` and of ``SharedMemGlobal::Port::
is_zombie``. A group without any lock file is never called stale.

Sizes are allocated bytes (``st_blocks * 512``): what tmpfs takes from RAM; a
segment's ``st_size`` is its mapped length, of which untouched pages cost nothing.
"""

import errno
import fcntl
import logging
import os
import re
import stat
import time
from dataclasses import dataclass
from typing import Collection, Dict, List, Optional, Tuple

from ..step_result import FAILED, OK, SKIPPED, StepResult
from ..units import small_size
from .shm_root import DDS_SHM_ROOT

__all__ = ['ShmUsage', 'is_dds_shm_name', 'shm_usage',
           'clean_stale_segments']

_log = logging.getLogger(__name__)

STEP_NAME = 'dds_shm'

_D = r'(?:fastdds|fastrtps)'
# group key -> members; every pattern is anchored on both ends.
_SEGMENT_RE = re.compile(r'^(' + _D + r'_[0-9a-z]{16})(_el)?$')
_PORT_RE = re.compile(r'^(' + _D + r'_port\d{1,5})(_el|_sl)?$')
_SEM_RE = re.compile(r'^sem\.(' + _D + r'_port\d{1,5})_mutex$')
_LOCK_SUFFIXES = ('_el', '_sl')


@dataclass(frozen=True)
class ShmUsage:
    """
    Fast DDS files in a shared-memory directory, and what they take from RAM.

    :param files: number of Fast DDS files (segments, locks, semaphores), any user.
    :param bytes: allocated bytes of those files (``st_blocks * 512``).
    :param stale_files: files of groups whose lock shows no live owner; ``-1``
        when not checked (``check_stale=False``).
    :param stale_bytes: allocated bytes of those; ``-1`` when not checked.
    """

    files: int = 0
    bytes: int = 0
    stale_files: int = -1
    stale_bytes: int = -1

    def as_dict(self) -> dict:
        return {'files': self.files, 'bytes': self.bytes,
                'stale_files': self.stale_files, 'stale_bytes': self.stale_bytes}


def _group_key(name: str) -> Optional[str]:
    """Return the group (segment or port base name) a file belongs to, else None."""
    for regex in (_SEGMENT_RE, _PORT_RE, _SEM_RE):
        match = regex.match(name)
        if match:
            return match.group(1)
    return None


def is_dds_shm_name(name: str) -> bool:
    """
    Return whether a ``/dev/shm`` file name is one Fast DDS creates.

    >>> is_dds_shm_name('fastdds_port7411_el'), is_dds_shm_name('fastdds_notes.txt')
    (True, False)
    """
    return _group_key(name) is not None


@dataclass(frozen=True)
class _File:
    name: str
    uid: int
    allocated: int


def _scan(root: str) -> Dict[str, List[_File]]:
    """Group the regular Fast DDS files of ``root`` by segment/port (lstat only)."""
    groups: Dict[str, List[_File]] = {}
    for name in os.listdir(root):
        key = _group_key(name)
        if key is None:
            continue
        try:
            st = os.lstat(os.path.join(root, name))
        except FileNotFoundError:  # removed by its owner meanwhile
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        groups.setdefault(key, []).append(_File(name, st.st_uid, st.st_blocks * 512))
    return groups


def _lock_names(key: str, files: List[_File]) -> List[str]:
    names = {f.name for f in files}
    return [key + s for s in _LOCK_SUFFIXES if key + s in names]


def _try_locks(root: str, lock_names: List[str]) -> Tuple[bool, List[int]]:
    """
    Take ``LOCK_EX | LOCK_NB`` on every lock file; return (all taken, fds).

    Opens read-only and never creates. On any refusal every fd is closed and
    ``(False, [])`` returned: some process still holds the group.
    """
    fds: List[int] = []
    try:
        for lock in lock_names:
            path = os.path.join(root, lock)
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            fds.append(fd)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            # the name must still be the inode we locked (not replaced meanwhile)
            if not os.path.samestat(os.fstat(fd), os.lstat(path)):
                raise BlockingIOError(errno.EAGAIN, 'lock file replaced', path)
    except OSError:
        _close_all(fds)
        return False, []
    return True, fds


def _close_all(fds: List[int]) -> None:
    for fd in fds:
        try:
            os.close(fd)  # closing drops the flock
        except OSError:
            pass


def _is_stale(root: str, key: str, files: List[_File]) -> bool:
    locks = _lock_names(key, files)
    if not locks:
        return False
    taken, fds = _try_locks(root, locks)
    _close_all(fds)
    return taken


def shm_usage(root: str = DDS_SHM_ROOT, *, check_stale: bool = False) -> ShmUsage:
    """
    Count Fast DDS files and their allocated bytes in ``root``.

    Cheap by default (one listing and one ``lstat`` per Fast DDS file, no lock
    probing), fit for a 10 Hz timer. ``check_stale=True`` also tries each
    group's lock (briefly) to count what a cleanup would free. A missing
    ``root`` reads as empty.
    """
    try:
        groups = _scan(root)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return ShmUsage(0, 0, 0 if check_stale else -1, 0 if check_stale else -1)
    files = sum(len(g) for g in groups.values())
    total = sum(f.allocated for g in groups.values() for f in g)
    if not check_stale:
        return ShmUsage(files, total)
    stale_files = stale_bytes = 0
    for key, group in groups.items():
        if _is_stale(root, key, group):
            stale_files += len(group)
            stale_bytes += sum(f.allocated for f in group)
    return ShmUsage(files, total, stale_files, stale_bytes)


def _remove_group(root: str, key: str, group: List[_File], fds: List[int]) -> Tuple[int, int]:
    """Unlink a locked group's files (lock files last) while the locks are held."""
    lock_set = set(_lock_names(key, group))
    ordered = [f for f in group if f.name not in lock_set] + \
              [f for f in group if f.name in lock_set]
    removed = freed = 0
    try:
        for f in ordered:
            try:
                os.unlink(os.path.join(root, f.name))
            except FileNotFoundError:
                continue
            removed += 1
            freed += f.allocated
    finally:
        _close_all(fds)
    return removed, freed


def clean_stale_segments(root: str = DDS_SHM_ROOT, *,
                         only: Optional[Collection[str]] = None) -> StepResult:
    """
    Remove Fast DDS shared-memory files whose lock shows no live owner.

    Per segment or port: skipped when any of its files belongs to another user
    or it has no lock file; kept when any lock is held (a live owner);
    otherwise its locks are taken and held while the segment, its semaphore
    and the lock files are unlinked, so a node starting meanwhile cannot get
    them. ``data``: ``files``, ``bytes`` freed, ``kept_live`` groups,
    ``kept_foreign`` groups of other users, ``kept_unlocked`` groups without
    a lock file. ``only``: file names; when given, only the segments and
    ports these names belong to are considered (e.g. what one run created).
    """
    start = time.monotonic()
    empty = {'files': 0, 'bytes': 0, 'kept_live': 0, 'kept_foreign': 0, 'kept_unlocked': 0}
    if not os.path.isdir(root):
        return StepResult(STEP_NAME, SKIPPED, f'{root} does not exist',
                          time.monotonic() - start, empty)
    euid = os.geteuid()
    try:
        groups = _scan(root)
    except OSError as exc:
        return StepResult(STEP_NAME, FAILED, f'cannot list {root}: {exc.strerror or exc}',
                          time.monotonic() - start, empty)
    if only is not None:
        wanted = {_group_key(n) for n in only} - {None}
        groups = {k: v for k, v in groups.items() if k in wanted}
    files = freed = kept_live = kept_foreign = kept_unlocked = 0
    errors: List[str] = []
    for key in sorted(groups):
        group = groups[key]
        if any(f.uid != euid for f in group):
            kept_foreign += 1
            continue
        locks = _lock_names(key, group)
        if not locks:
            kept_unlocked += 1
            continue
        taken, fds = _try_locks(root, locks)
        if not taken:
            kept_live += 1
            continue
        try:
            n, b = _remove_group(root, key, group, fds)
        except OSError as exc:
            errors.append(f'{key}: {exc.strerror or exc}')
            continue
        files += n
        freed += b
        _log.debug('removed stale %s (%d files, %d bytes)', key, n, b)
    data = {'files': files, 'bytes': freed, 'kept_live': kept_live,
            'kept_foreign': kept_foreign, 'kept_unlocked': kept_unlocked}
    detail = (f'freed {files} files, {small_size(freed)} of stale Fast DDS shared memory; '
              f'kept {kept_live} live')
    if kept_foreign:
        detail += f', {kept_foreign} of other users'
    if kept_unlocked:
        detail += f', {kept_unlocked} without lock file'
    status = OK
    if errors:
        status = FAILED
        detail += '; could not remove ' + ', '.join(errors)
    return StepResult(STEP_NAME, status, detail, time.monotonic() - start, data)
