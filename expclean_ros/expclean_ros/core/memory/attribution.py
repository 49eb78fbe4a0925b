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
Whose is the RAM that grew: the run's, other processes', or the kernel's.

:class:`Baseline` is a cheap table of every process (pid, start ticks, uid, name,
resident memory, CPU ticks: the one read of ``stat`` a plain scan makes) and one
read of ``/proc/meminfo``, taken before a run and again after its cleanup.
:func:`attribute` accounts the growth of RAM in use (``MemTotal - MemAvailable``,
as the verdict counts it) between the two, from the kernel's own totals, which
stay exact where per-process figures are not (a forked child shares its parent's
pages; a process that exits is not seen again):

- the kernel: unreclaimable slab, stacks, page tables, per-cpu (:data:`KERNEL_FIELDS`);
- processes outside the run: the growth of all anonymous memory (``AnonPages``)
  less what the run's live processes hold (their anonymous memory, from ``statm``);
  the processes whose resident memory grew most are named;
- the run: the rest (its live processes, its shared memory, what no process holds).

Unique memory (``Pss_Anon`` in ``smaps_rollup``) costs 20 to 30 times as much
per process as ``statm`` (see ``bench/bench_attribution.py``): it is read only for
a process of the run holding more than :data:`UNIQUE_ABOVE` bytes, whose anonymous
pages may still be shared with the process it was forked from.
"""

import os
import pwd
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, NamedTuple, Optional, Tuple

from . import run_shm
from ..procs import proctable

__all__ = ['ProcRow', 'Baseline', 'Attribution', 'attribute', 'read_table', 'read_kernel',
           'user_name', 'KERNEL_FIELDS']

_PAGE = os.sysconf('SC_PAGE_SIZE')
#: The kernel's memory that ``MemAvailable`` never counts as available.
KERNEL_FIELDS = ('SUnreclaim', 'KernelStack', 'PageTables', 'SecPageTables', 'Percpu')
_TOP = 3
#: A new process with more anonymous memory than this is measured by its unique share.
UNIQUE_ABOVE = 8 * 2**20
#: What a baseline keeps of ``/proc/meminfo``.
MEMINFO_FIELDS = KERNEL_FIELDS + ('MemTotal', 'MemAvailable', 'AnonPages', 'Shmem', 'Dirty',
                                  'Writeback')
_users: Dict[int, str] = {}


class ProcRow(NamedTuple):
    """One process: who it is, its resident bytes and its CPU ticks so far."""

    pid: int
    start_ticks: int
    uid: int
    name: str
    rss_bytes: int
    cpu_ticks: int


def _row(root: str, pid: str) -> Optional[ProcRow]:
    try:
        uid, data = proctable.read_stat(f'{root}/{pid}/stat')
        rpar = data.rindex(b')')
        fields = data[rpar + 2:].split()
        if int(fields[6]) & 0x00200000:  # a kernel thread: its memory is the kernel's
            return None
        return ProcRow(int(pid), int(fields[19]), uid,
                       data[data.index(b'(') + 1:rpar].decode('utf-8', 'replace'),
                       int(fields[21]) * _PAGE, int(fields[11]) + int(fields[12]))
    except (OSError, ValueError, IndexError):
        return None


def read_table(root: str = '/proc') -> Dict[int, ProcRow]:
    """Every user-space process, keyed by pid."""
    table = {}
    for entry in os.listdir(root):
        if entry.isdigit():
            row = _row(root, entry)
            if row is not None:
                table[row.pid] = row
    return table


def _unique(pid: int) -> int:
    """Anonymous bytes of a process of the run, pages it shares with others counted in part."""
    try:
        statm = proctable.read_bytes(f'/proc/{pid}/statm').split()
        anon = (int(statm[1]) - int(statm[2])) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0
    if anon <= UNIQUE_ABOVE:
        return anon
    try:
        data = proctable.read_bytes(f'/proc/{pid}/smaps_rollup')
        at = data.index(b'\nPss_Anon:')
        return int(data[at + 10:data.index(b'\n', at + 10)].split()[0]) * 1024
    except (OSError, ValueError):
        return anon


def read_kernel(path: str = '/proc/meminfo') -> Dict[str, int]:
    """Return the :data:`MEMINFO_FIELDS` present in ``path``, in bytes (empty if unreadable)."""
    wanted = MEMINFO_FIELDS
    out = {}
    try:
        with open(path, 'rb') as f:
            for line in f:
                name, _, rest = line.partition(b':')
                key = name.decode()
                if key in wanted:
                    out[key] = int(rest.split()[0]) * 1024
    except OSError:
        pass
    return out


def user_name(uid: int) -> str:
    """Return the login name of ``uid`` (cached), or the number."""
    if uid not in _users:
        try:
            _users[uid] = pwd.getpwuid(uid).pw_name
        except KeyError:
            _users[uid] = str(uid)
    return _users[uid]


@dataclass(frozen=True)
class Baseline:
    """The process table and the kernel's figures at one moment (``ticks``: boot ticks)."""

    table: Dict[int, ProcRow] = field(default_factory=dict)
    kernel: Dict[str, int] = field(default_factory=dict)
    ticks: int = 0

    @classmethod
    def take(cls) -> 'Baseline':
        return cls(read_table(), read_kernel(), proctable.boot_ticks())


@dataclass(frozen=True)
class Attribution:
    """
    RAM growth accounted to the run, to processes outside it and to the kernel.

    ``ram_bytes`` is the growth of ``MemTotal - MemAvailable`` between the two baselines;
    ``run_bytes`` what is left of it after ``foreign_bytes`` and ``kernel_bytes``, at most
    what the run can still hold (its live processes, shared memory); the rest of that is
    ``unexplained_bytes``, counted elsewhere.

    :param foreign: the processes outside the run that grew most, ``(pid, user, command,
        bytes)``, biggest first.
    :param run: the run's live processes that hold most anonymous memory, ``(pid, bytes)``.
    """

    ram_bytes: int
    run_bytes: int
    foreign_bytes: int
    kernel_bytes: int
    foreign: Tuple[Tuple[int, str, str, int], ...] = ()
    run: Tuple[Tuple[int, int], ...] = ()
    unexplained_bytes: int = 0

    @property
    def elsewhere_bytes(self) -> int:
        return self.foreign_bytes + self.kernel_bytes + self.unexplained_bytes

    def elsewhere(self) -> str:
        """``+70.0 MiB elsewhere: python3 (pid 8891, user nobody) +60.0 MiB, kernel +2.0 MiB``."""
        return self.named(f'+{run_shm.mib(self.elsewhere_bytes)} elsewhere')

    def named(self, head: str) -> str:
        """Return ``head``, then the processes that grew most and the kernel's growth."""
        parts = [f'{cmd} (pid {pid}, user {user}) +{run_shm.mib(n)}'
                 for pid, user, cmd, n in self.foreign if n > 0]
        if self.kernel_bytes > 0:
            parts.append(f'kernel +{run_shm.mib(self.kernel_bytes)}')
        if self.unexplained_bytes > 0:
            parts.append(f'not held by the run +{run_shm.mib(self.unexplained_bytes)}')
        return head + (': ' + ', '.join(parts) if parts else '')

    def as_dict(self) -> dict:
        return {'ram_bytes': self.ram_bytes, 'run_bytes': self.run_bytes,
                'foreign_bytes': self.foreign_bytes, 'kernel_bytes': self.kernel_bytes,
                'foreign': [{'pid': p, 'user': u, 'command': c, 'bytes': n}
                            for p, u, c, n in self.foreign],
                'run': [{'pid': p, 'bytes': n} for p, n in self.run],
                'unexplained_bytes': self.unexplained_bytes}


def _used(base: Baseline) -> int:
    return base.kernel.get('MemTotal', 0) - base.kernel.get('MemAvailable', 0)


def attribute(before: Baseline, after: Baseline, is_run: Callable[[ProcRow], bool],
              left: Iterable[int] = ()) -> Attribution:
    """
    Account the RAM in use that grew from ``before`` to ``after``.

    A process is the same one when pid and start ticks match. A process new since
    ``before`` is the run's when it is in ``left`` or ``is_run(row)`` says so.
    """
    left = set(left)
    grew: Dict[int, int] = {}
    held: Dict[int, int] = {}
    for pid, row in after.table.items():
        old = before.table.get(pid)
        if old is not None and old.start_ticks == row.start_ticks:
            grew[pid] = row.rss_bytes - old.rss_bytes
        elif pid in left or is_run(row):
            held[pid] = _unique(pid)
        else:
            grew[pid] = row.rss_bytes
    anon = after.kernel.get('AnonPages', 0) - before.kernel.get('AnonPages', 0)
    kernel = sum(after.kernel.get(k, 0) - before.kernel.get(k, 0) for k in KERNEL_FIELDS)
    ram = _used(after) - _used(before)
    top = sorted(((n, pid) for pid, n in grew.items() if n > 0), reverse=True)[:_TOP]
    named = tuple((pid, user_name(after.table[pid].uid), after.table[pid].name, n)
                  for n, pid in top)
    foreign = anon - sum(held.values())
    run = tuple(sorted(((pid, n) for pid, n in held.items() if n > 0),
                       key=lambda item: -item[1])[:_TOP])
    # a run's memory outlives it only in its live processes and in shared memory (tmpfs
    # files): growth beyond that is not the run's, whatever else it is
    shmem = after.kernel.get('Shmem', 0) - before.kernel.get('Shmem', 0)
    share = run_share(ram, foreign, kernel)
    held_by_run = min(share, sum(held.values()) + max(0, shmem))
    return Attribution(ram, held_by_run, foreign, kernel, named, run, share - held_by_run)


def run_share(ram: int, foreign: int, kernel: int) -> int:
    """
    Return the part of RAM growth ``ram`` left to the run, given what grew elsewhere.

    Memory that others gave back (a negative share) never counts against the run, and the
    run's part is never more than RAM grew: a machine back at its level blames no run.

    >>> MiB = 2 ** 20
    >>> run_share(0, -99 * MiB, 0)  # others released 99 MiB, RAM is back
    0
    >>> run_share(142 * MiB, 25 * MiB, 0) // MiB
    117
    >>> run_share(10 * MiB, -50 * MiB, 1 * MiB) // MiB
    9
    """
    return max(0, min(ram, ram - max(0, foreign) - max(0, kernel)))
