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
The between-runs shared-memory step: remove what a run left in ``/dev/shm``, nothing else.

An entry is removed only when all of these hold:

- it is a regular file of ours (``st_uid`` equals our effective uid);
- with a :class:`~.shm_record.ShmRecord`: it was not there before the run
  (name and inode); without one (``~/quick``, ``~/comprehensive``, the
  ``cleanup_utils`` drop-in): its name carries its creator's pid
  (``torch_<pid>_...``, Python's ``pym-<pid>-...``) and that creator is gone;
- no live process has it open or mapped (one pass over ``/proc``), and, when
  its mode lets other users open it, no process of another user is beyond
  inspection (as a user, other users' ``/proc/PID/fd`` cannot be read);
- it is tied to the run: its name carries the pid of one of the run's
  processes (seen in :class:`~.shm_record.RunEvidence`, pid and start time)
  that is gone, or the run's processes were seen holding it;
- the creator named in it is not alive: a live process with that pid that
  started before the file may be its creator, and keeps it.

Fast DDS files are left to :mod:`.dds_shm` (their lock rule). Everything new
that is kept is reported with its size and why: ``held by pid N (cmd)``,
``creator pid N alive``, or ``unknown`` (new and unheld, but nothing ties it
to the run: another program of this user may own it).
"""

import os
import re
import time
from typing import Dict, List, Optional, Tuple

from ..procs import proctable
from ..step_result import FAILED, OK, SKIPPED, StepResult
from ..units import mib
from .dds_shm import is_dds_shm_name
from .shm_holders import HolderScan, process_label, scan_holders
from .shm_record import RunEvidence, ShmEntry, ShmRecord, list_entries, unavailable_reason
from .shm_root import shm_root

__all__ = ['STEP_NAME', 'clean_run_shm', 'creator_pid', 'family', 'mib', 'LIST_LIMIT']

STEP_NAME = 'run_shm'
#: Names that carry the pid of the process that created them.
_PID_NAMES = (re.compile(r'^torch_(\d{1,10})_\d+(?:_\d+)?$'),  # torch's file_system strategy
              re.compile(r'^pym-(\d{1,10})-'))                 # multiprocessing.heap arenas
_FAMILY = re.compile(r'^((?:sem\.)?[A-Za-z]+[-_])')
#: A process that started this long after a file's ctime is certainly not its creator.
_MARGIN_S = 1.0
#: Entries listed by name in ``data`` (the counts and bytes are always whole).
LIST_LIMIT = 50
_CLK_TCK = os.sysconf('SC_CLK_TCK')


def creator_pid(name: str) -> Optional[int]:
    """
    Return the creator's pid a name carries, else None.

    >>> creator_pid('torch_15869_1806172272_2'), creator_pid('psm_1a2b')
    (15869, None)
    """
    for regex in _PID_NAMES:
        match = regex.match(name)
        if match:
            return int(match.group(1))
    return None


def family(name: str) -> str:
    """
    Return the kind of a name, for reports: ``torch_*``, ``psm_*``, ``sem.mp-*``, else the name.

    >>> family('torch_1_2_3'), family('sem.mp-x1'), family('notes')
    ('torch_*', 'sem.mp-*', 'notes')
    """
    match = _FAMILY.match(name)
    return match.group(1) + '*' if match else name


def _creator_alive(pid: int, ctime_ticks: float) -> Optional[proctable.ProcInfo]:
    """
    Return the live process with ``pid`` when it may be the file's creator.

    Started before it.
    """
    info = proctable.read_proc(pid)
    if info is None or info.zombie:
        return None
    if info.start_ticks > ctime_ticks + _MARGIN_S * _CLK_TCK:
        return None  # a reused pid: it started after the file existed
    return info


def _ctime_ticks(entry: ShmEntry, now_ticks: int, now: float) -> float:
    return now_ticks - (now - entry.ctime) * _CLK_TCK


def _verdict(entry: ShmEntry, holders: HolderScan, evidence: Optional[RunEvidence],
             with_record: bool, now_ticks: int, now: float) -> Tuple[bool, str]:
    """(remove, why) for one new file of ours."""
    held = holders.holders(entry.key)
    if held:
        more = f' and {len(held) - 1} more' if len(held) > 1 else ''
        return False, f'held by {process_label(held[0])}{more}'
    if entry.mode & 0o066:
        strangers = holders.unreadable_of_others(entry.uid)
        if strangers:
            return False, (f'other users may open it and {len(strangers)} of their processes '
                           f'could not be inspected')
    pid = creator_pid(entry.name)
    ctime_ticks = _ctime_ticks(entry, now_ticks, now)
    if pid is not None:
        if _creator_alive(pid, ctime_ticks) is not None:
            return False, f'creator {process_label(pid)} alive'
        if not with_record:
            return True, f'creator pid {pid} gone'
        started = evidence.ran(pid) if evidence is not None else None
        if started is not None and started <= ctime_ticks + _MARGIN_S * _CLK_TCK:
            return True, f'created by run pid {pid}, gone'
    if with_record and evidence is not None and entry.key in evidence.held:
        return True, 'held by the run while it ran'
    return False, 'unknown'


def _unlink(root: str, entry: ShmEntry) -> Optional[str]:
    """Remove ``entry`` if its name still is that inode of ours; an error text, else None."""
    path = os.path.join(root, entry.name)
    try:
        st = os.lstat(path)
        if (st.st_dev, st.st_ino) != entry.key or st.st_uid != entry.uid:
            return None  # replaced meanwhile: not the file judged
        os.unlink(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f'{entry.name}: {exc.strerror or exc}'
    return None


def clean_run_shm(record: Optional[ShmRecord] = None, evidence: Optional[RunEvidence] = None,
                  root: Optional[str] = None) -> StepResult:
    """
    Remove the files a run left in ``root``.

    Default: the record's, else ``$EXPCLEAN_SHM_ROOT`` or ``/dev/shm``.

    ``data``: ``files`` and ``bytes`` freed, ``removed`` (names), ``kept`` (dicts
    ``name``, ``bytes``, ``why``; ``why`` ``unknown`` for new unheld files nothing ties to
    the run), ``kept_bytes``, ``foreign`` / ``foreign_bytes`` (new files of other users),
    ``mode`` (``record`` or ``no record``), ``scanned`` (processes looked at).
    """
    start = time.monotonic()
    root = root or (record.root if record is not None else shm_root())
    mode = 'record' if record is not None else 'no record'
    data = {'files': 0, 'bytes': 0, 'removed': [], 'kept': [], 'kept_bytes': 0,
            'foreign': 0, 'foreign_bytes': 0, 'mode': mode, 'scanned': 0}
    reason = (record.reason if record is not None else None) or unavailable_reason(root)
    if reason:
        data['reason'] = reason
        return StepResult(STEP_NAME, SKIPPED, reason, time.monotonic() - start, data)
    try:
        entries = list_entries(root)
    except OSError as exc:
        data['reason'] = f'cannot list {root}: {exc.strerror or exc}'
        return StepResult(STEP_NAME, SKIPPED, data['reason'], time.monotonic() - start, data)
    euid = os.geteuid()
    new: List[ShmEntry] = []
    for entry in entries.values():
        if is_dds_shm_name(entry.name):
            continue  # the dds_shm step's (lock rule)
        if record is not None and record.existed(entry):
            continue
        if record is None and creator_pid(entry.name) is None:
            continue
        if entry.uid != euid:
            data['foreign'] += 1
            data['foreign_bytes'] += entry.allocated
            continue
        new.append(entry)
    errors: List[str] = []
    if new:
        holders = scan_holders(root)
        data['scanned'] = holders.processes
        now_ticks, now = proctable.boot_ticks(), time.time()
        for entry in sorted(new, key=lambda e: e.name):
            remove, why = _verdict(entry, holders, evidence, record is not None, now_ticks, now)
            error = _unlink(root, entry) if remove else None
            if remove and error is None:
                data['files'] += 1
                data['bytes'] += entry.allocated
                if len(data['removed']) < LIST_LIMIT:
                    data['removed'].append(entry.name)
                continue
            if error:
                errors.append(error)
                why = f'could not remove: {error}'
            data['kept_bytes'] += entry.allocated
            if len(data['kept']) < LIST_LIMIT:
                data['kept'].append({'name': entry.name, 'bytes': entry.allocated, 'why': why})
    detail = _detail(data, len(new))
    status = FAILED if errors else OK
    return StepResult(STEP_NAME, status, detail, time.monotonic() - start, data)


def _groups(names) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    for name in names:
        counts[family(name)] = counts.get(family(name), 0) + 1
    return counts


def _detail(data: dict, considered: int) -> str:
    if not considered and not data['foreign']:
        return f'nothing of the run left in shared memory ({data["mode"]})'
    kinds = ', '.join(f'{n} {k}' for k, n in sorted(_groups(data['removed']).items()))
    text = f'freed {data["files"]} files, {mib(data["bytes"])}' + (f' ({kinds})' if kinds else '')
    kept = data['kept']
    if kept:
        shown = '; '.join(f'{k["name"]} {mib(k["bytes"])} {k["why"]}' for k in kept[:3])
        left = considered - data['files']
        more = left - min(3, len(kept))
        text += f'; left {left} ({mib(data["kept_bytes"])}): {shown}'
        text += f'; and {more} more' if more > 0 else ''
    if data['foreign']:
        text += f'; {data["foreign"]} new files of other users untouched'
    return text
