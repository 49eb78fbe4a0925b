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
What a shared-memory directory held before a run, and what the run was seen using.

- :class:`ShmRecord`: every entry of ``/dev/shm`` (name, inode, owner) at one
  instant, taken before a run starts. An entry is the run's candidate only
  when it is not in the record (a new name, or a new inode under an old name).
- :class:`RunEvidence`: while the run lives, the pids of its processes (pid and
  start time) and the inodes they held. A removal needs such evidence (see
  :mod:`.run_shm`), because a program outside the run can create a file too.

Listing is one ``listdir`` and one ``lstat`` per entry; no file is opened.
"""

import os
import stat
import time
from dataclasses import dataclass, field
from typing import Dict, Iterable, Optional, Set, Tuple

from ..procs import proctable
from .shm_holders import scan_holders
from .shm_root import shm_root

__all__ = ['ShmEntry', 'ShmRecord', 'RunEvidence', 'list_entries', 'unavailable_reason']


@dataclass(frozen=True)
class ShmEntry:
    """
    One regular file of the directory (``lstat``: a symlink is never followed).

    :param allocated: bytes tmpfs holds for it (``st_blocks * 512``).
    :param ctime: ``st_ctime``; the file was created at or before it (no call can set it back).
    """

    name: str
    dev: int
    ino: int
    uid: int
    mode: int
    allocated: int
    ctime: float

    @property
    def key(self) -> Tuple[int, int]:
        return self.dev, self.ino


def unavailable_reason(root: Optional[str] = None) -> Optional[str]:
    """
    Why ``root`` (default :func:`.shm_root.shm_root`) cannot be cleaned, else None.

    Missing, not a directory, unreadable.
    """
    root = root or shm_root()
    try:
        st = os.stat(root)
    except FileNotFoundError:
        return f'{root} does not exist'
    except OSError as exc:
        return f'cannot read {root}: {exc.strerror or exc}'
    if not stat.S_ISDIR(st.st_mode):
        return f'{root} is not a directory'
    if not os.access(root, os.R_OK | os.X_OK):
        return f'cannot read {root}: permission denied'
    return None


def list_entries(root: Optional[str] = None) -> Dict[str, ShmEntry]:
    """
    Every regular file of ``root`` (default :func:`.shm_root.shm_root`) by name.

    Raises ``OSError`` when it cannot be listed.
    """
    root = root or shm_root()
    entries = {}
    for name in os.listdir(root):
        try:
            st = os.lstat(os.path.join(root, name))
        except OSError:  # removed meanwhile
            continue
        if stat.S_ISREG(st.st_mode):
            entries[name] = ShmEntry(name, st.st_dev, st.st_ino, st.st_uid,
                                     stat.S_IMODE(st.st_mode), st.st_blocks * 512, st.st_ctime)
    return entries


@dataclass(frozen=True)
class ShmRecord:
    """
    The directory's entries at one instant: ``name -> (st_dev, st_ino)``.

    ``reason`` is set (and ``entries`` empty) when the directory could not be
    read; a cleanup then skips with that reason.
    """

    root: str
    entries: Dict[str, Tuple[int, int]]
    taken_at: float
    reason: Optional[str] = None

    @classmethod
    def take(cls, root: Optional[str] = None) -> 'ShmRecord':
        root = root or shm_root()
        reason = unavailable_reason(root)
        if reason is None:
            try:
                found = list_entries(root)
            except OSError as exc:
                reason = f'cannot list {root}: {exc.strerror or exc}'
            else:
                return cls(root, {n: e.key for n, e in found.items()}, time.time())
        return cls(root, {}, time.time(), reason)

    def existed(self, entry: ShmEntry) -> bool:
        """Return whether this very file (name and inode) was there when the record was taken."""
        return self.entries.get(entry.name) == entry.key

    def as_dict(self) -> dict:
        return {'root': self.root, 'files': len(self.entries), 'taken_at': self.taken_at,
                'reason': self.reason}


@dataclass
class RunEvidence:
    """
    What a run's processes were seen being and holding while it ran.

    :param pids: pid -> start ticks of every process seen in the run.
    :param held: inodes ``(st_dev, st_ino)`` of the directory that they had open or mapped.
    """

    root: str = field(default_factory=shm_root)
    pids: Dict[int, int] = field(default_factory=dict)
    held: Set[Tuple[int, int]] = field(default_factory=set)
    _last: Tuple[int, frozenset] = field(default=(0, frozenset()), repr=False)

    def observe(self, pids: Iterable[int]) -> None:
        """
        Note the run's processes now and what they hold.

        Only when something changed: the directory's mtime, or the set of processes.
        """
        live = {}
        for pid in pids:
            info = proctable.read_proc(pid)
            if info is not None and not info.zombie:
                live[pid] = info.start_ticks
        self.pids.update(live)
        try:
            mtime = os.stat(self.root).st_mtime_ns
        except OSError:
            return
        now = (mtime, frozenset(live.items()))
        if now == self._last or not live:
            return
        self._last = now
        self.held.update(scan_holders(self.root, live).held)

    def ran(self, pid: int) -> Optional[int]:
        """Start ticks of ``pid`` when it was seen in the run, else None."""
        return self.pids.get(pid)

    def as_dict(self) -> dict:
        return {'pids': len(self.pids), 'held': len(self.held)}
