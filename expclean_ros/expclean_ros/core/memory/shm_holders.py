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
Who holds which file of a shared-memory directory: one pass over ``/proc/*/fd`` and ``maps``.

A file in ``/dev/shm`` is in use while some process has it open (an entry
of ``/proc/PID/fd``) or mapped (a line of ``/proc/PID/maps``); both hold the
inode, not the name. So holders are keyed by ``(st_dev, st_ino)``, and a
name replaced since (a new inode) is not taken for the old one.

Costs: one ``listdir`` of ``/proc/PID/fd`` and one ``readlink`` per fd
(``stat`` only for the few whose link names the directory), one read of
``maps``, scanned for the directory's path before any line is parsed.

Limits (documented, not guessed): a process whose ``fd`` or ``maps`` cannot be
read (another user's, when not root; a container's init) is counted in
``unreadable``; callers treat a file other users may open (group/other bits)
as possibly held by such a process of another user. A process of another
user that got the file through fd passing is not foreseen.
Threads that unshared their fd table are not read.
"""

import os
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Set, Tuple

from ..procs import proctable
from .shm_root import shm_root

__all__ = ['HolderScan', 'scan_holders', 'process_label']

Key = Tuple[int, int]  # (st_dev, st_ino)


@dataclass
class HolderScan:
    """
    The result of one pass: holders by inode, and how many processes could not be read.

    :param held: ``(st_dev, st_ino)`` -> pids that have it open or mapped.
    :param unreadable: pids whose fd table or maps could not be read (gone excluded).
    :param processes: processes looked at.
    """

    held: Dict[Key, List[int]] = field(default_factory=dict)
    unreadable: Set[int] = field(default_factory=set)
    processes: int = 0

    def holders(self, key: Key) -> List[int]:
        return self.held.get(key, [])

    def unreadable_of_others(self, uid: int) -> List[int]:
        """Return the processes beyond inspection that belong to another user than ``uid``."""
        out = []
        for pid in sorted(self.unreadable):
            info = proctable.read_proc(pid)
            if info is not None and info.uid != uid:
                out.append(pid)
        return out

    def _add(self, key: Key, pid: int) -> None:
        pids = self.held.setdefault(key, [])
        if pid not in pids:
            pids.append(pid)


def _fds(pid: int, prefix: str, scan: HolderScan) -> None:
    fd_dir = f'/proc/{pid}/fd'
    try:
        names = os.listdir(fd_dir)
    except (FileNotFoundError, ProcessLookupError):
        return
    except OSError:
        scan.unreadable.add(pid)
        return
    for name in names:
        path = f'{fd_dir}/{name}'
        try:
            target = os.readlink(path)
        except OSError:
            continue  # closed meanwhile
        if not target.startswith(prefix):
            continue
        try:
            st = os.stat(path)  # the open inode itself, even when its name is gone
        except OSError:
            continue
        scan._add((st.st_dev, st.st_ino), pid)


def _maps(pid: int, needle: bytes, devices: Dict[bytes, int], scan: HolderScan) -> None:
    try:
        data = proctable.read_bytes(f'/proc/{pid}/maps')
    except (FileNotFoundError, ProcessLookupError):
        return
    except OSError:
        scan.unreadable.add(pid)
        return
    if needle not in data:
        return
    for line in data.split(b'\n'):
        if needle not in line:
            continue
        # address perms offset dev inode path
        parts = line.split(None, 5)
        if len(parts) < 6:
            continue
        dev = devices.get(parts[3])
        if dev is None:
            major, _, minor = parts[3].partition(b':')
            try:
                dev = devices[parts[3]] = os.makedev(int(major, 16), int(minor, 16))
            except ValueError:
                continue
        try:
            scan._add((dev, int(parts[4])), pid)
        except ValueError:
            continue


def scan_holders(root: Optional[str] = None, pids: Optional[Iterable[int]] = None) -> HolderScan:
    """
    Find every process (or only ``pids``) holding a file of ``root``, in one pass.

    ``root`` defaults to :func:`.shm_root.shm_root`.

    Our own process is included: a caller holding a file is a holder like any other.
    """
    real = os.path.realpath(root or shm_root())
    prefix = real.rstrip('/') + '/'
    needle = (' ' + prefix).encode()
    devices: Dict[bytes, int] = {}
    scan = HolderScan()
    if pids is None:
        pids = [int(e) for e in os.listdir('/proc') if e.isdigit()]
    for pid in pids:
        scan.processes += 1
        _fds(pid, prefix, scan)
        _maps(pid, needle, devices, scan)
    return scan


def process_label(pid: int, width: int = 40) -> str:
    """``pid 4242 (python train.py)``: the pid and the start of its command line."""
    cmd = proctable.read_cmdline(pid)
    if not cmd:
        info = proctable.read_proc(pid)
        cmd = info.name if info is not None else 'gone'
    if len(cmd) > width:
        cmd = cmd[:width - 3] + '...'
    return f'pid {pid} ({cmd})'
