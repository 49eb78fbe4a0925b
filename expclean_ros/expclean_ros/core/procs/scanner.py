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
Run a :class:`~.selection.Selection` over the process table: which processes it chooses now.

:class:`Scanner` keeps environ reads and the pids it chose between rescans, so
teardown can scan again and again cheaply; :func:`select` is one scan.
"""

import logging
import os
import time
from typing import Dict, Iterable, Optional, Set, Tuple

from . import cgroups, proctable
from .patterns import PatternTimeout, first_match
from .proctable import ENV_OK, ENV_UNSET, ProcInfo
from .selection import Candidate, Selection, parse_domain_id

__all__ = ['Scanner', 'select', 'check_root', 'own_descendants', 'excluded_pids', 'descendants']

#: Why a process was selected (ProcessInfo.reason): the tree's root named in the request.
#: The others: "tagged VAR=run-...", "descendant of PID", "in session of PID",
#: "in process group of PID", "in cgroup PATH", "matches 'RE' on domain N".
ROOT_GIVEN = 'the root pid given'

_log = logging.getLogger(__name__)


def excluded_pids(table: Dict[int, ProcInfo], spare: Iterable[int] = ()) -> Set[int]:
    """Return pid 0/1/2, this process, the ``spare`` processes, and all their ancestors."""
    excluded = {0, 1, 2}
    for start in (os.getpid(), *spare):
        pid = start
        while pid > 1 and pid not in excluded:
            excluded.add(pid)
            info = table.get(pid) or proctable.read_proc(pid)
            pid = info.ppid if info else 0
    return excluded


def own_descendants(table: Optional[Dict[int, ProcInfo]] = None) -> Set[int]:
    """Descendants of this process: never chosen by pattern (our hooks and helpers)."""
    return set(descendants(proctable.snapshot() if table is None else table, (os.getpid(),)))


def descendants(table: Dict[int, ProcInfo], roots: Iterable[int]) -> Dict[int, str]:
    """Descendants of ``roots`` (by ppid) with a reason each."""
    children: Dict[int, list] = {}
    for info in table.values():
        children.setdefault(info.ppid, []).append(info.pid)
    found = {}
    stack = list(roots)
    while stack:
        parent = stack.pop()
        for child in children.get(parent, ()):
            if child not in found:
                found[child] = f'descendant of {parent}'
                stack.append(child)
    return found


ROOT_GONE = -1


class Scanner:
    """Runs a selection over snapshots; keeps environ reads and known pids between rescans."""

    def __init__(self, selection: Selection):
        self.sel = selection
        self.uid = os.geteuid()
        self._env_cache: Dict[Tuple[int, int, str], Tuple[str, Optional[str]]] = {}
        self.known: Dict[int, int] = {}  # pid -> start_ticks of everything selected so far
        self.root_ticks: Optional[int] = None

    def _env(self, info: ProcInfo, name: str):
        key = (info.pid, info.start_ticks, name)
        if key in self._env_cache:
            return self._env_cache[key]
        found = proctable.read_environ_var(info.pid, name)
        if found[0] != proctable.ENV_EMPTY:  # mid-exec: read again at the next scan
            self._env_cache[key] = found
        return found

    def _domain_ok(self, info: ProcInfo) -> bool:
        status, value = self._env(info, 'ROS_DOMAIN_ID')
        if status == ENV_UNSET:
            if self.sel.domain_id != 0:
                return False
            if not self.sel.strict_domain:
                return True
            tag_status, tag = self._env(info, self.sel.tag_variable)
            return tag_status == ENV_OK and bool(tag)  # part of a run on domain 0
        if status != ENV_OK:
            return False  # cannot prove it is ours: spare it
        parsed = parse_domain_id(value)
        return parsed is not None and parsed == self.sel.domain_id  # unparsable: spare it

    def _tag_needle(self) -> Optional[bytes]:
        """
        ``VAR=tag`` as bytes when only the tag (and a cgroup) select.

        Every process the tag chooses holds these bytes in its environment. None otherwise.
        """
        sel = self.sel
        if not sel.tag or sel.root_pid is not None or sel.compiled_patterns \
                or '\ufffd' in sel.tag:  # a value read as U+FFFD was not these bytes
            return None
        try:
            return f'{sel.tag_variable}={sel.tag}'.encode()
        except UnicodeEncodeError:
            return None

    def _table(self, in_cgroup: Set[int]) -> Dict[int, ProcInfo]:
        """
        Return the process table the scan looks at.

        The whole of it, or, for a tag, only the processes whose environment may hold the tag (and
        the cgroup's).

        The first pass's reading of an environment stands for the process ``stat``
        shows only when that process started before the pass began: a pid reused
        since is a newer process, whose environment the exact checks read again.
        """
        needle = self._tag_needle()
        if needle is None:
            return proctable.snapshot()
        began = proctable.boot_ticks()
        first = proctable.environ_may_hold(needle)
        name = self.sel.tag_variable
        table = {}
        for pid in set(first) | in_cgroup:
            info = proctable.read_proc(pid)
            if info is None:
                continue
            table[pid] = info
            if first.get(pid) and info.start_ticks < began:
                self._env_cache[(pid, info.start_ticks, name)] = proctable.environ_value(
                    first[pid], name)
        return table

    def scan(self) -> Dict[int, Candidate]:
        """Return the processes selected now; :class:`PatternTimeout` past ``time_limit_s``."""
        sel = self.sel
        deadline = (None if sel.time_limit_s is None
                    else time.monotonic() + sel.time_limit_s)
        in_cgroup = cgroups.procs(sel.cgroup) if sel.cgroup else set()
        table = self._table(in_cgroup)
        excluded = excluded_pids(table, sel.spare_pids)
        ours = (own_descendants(table) if sel.compiled_patterns and sel.spare_own_children
                else set())
        reasons: Dict[int, str] = {pid: f'in cgroup {sel.cgroup}' for pid in in_cgroup}
        if sel.root_pid is not None:
            root = table.get(sel.root_pid)
            if root is None and self.root_ticks is None:
                self.root_ticks = ROOT_GONE  # a later process with this pid is not the root
            if root is None or self.root_ticks in (None, root.start_ticks):
                # A live sid/pgid is never reused as a pid, so while the root is gone its
                # session and group (re-parented orphans of a crashed launcher) are its own.
                rpid = sel.root_pid
                if root is not None:
                    self.root_ticks = root.start_ticks
                    reasons.setdefault(rpid, ROOT_GIVEN)
                for info in table.values():
                    if info.sid == rpid and info.pid != rpid:
                        reasons.setdefault(info.pid, f'in session of {rpid}')
                    elif info.pgid == rpid and info.pid != rpid:
                        reasons.setdefault(info.pid, f'in process group of {rpid}')
            # descendants of everything already chosen keep being found after the root died
            alive_known = [p for p, t in self.known.items()
                           if p in table and table[p].start_ticks == t]
            for pid, why in descendants(table, set(reasons) | set(alive_known)).items():
                reasons.setdefault(pid, why)
        for info in table.values():
            if info.pid in excluded or info.kernel_thread or info.zombie:
                continue  # a zombie has no environment to read and is never chosen
            if not sel.allow_other_users and info.uid != self.uid:
                continue
            if sel.tag and info.pid not in reasons:
                status, value = self._env(info, sel.tag_variable)
                if status == ENV_OK and value == sel.tag:
                    reasons[info.pid] = f'tagged {sel.tag_variable}={sel.tag}'
            if sel.compiled_patterns and info.pid not in reasons and info.pid not in ours:
                if deadline is not None and time.monotonic() > deadline:
                    raise PatternTimeout(f'selecting took longer than {sel.time_limit_s:g} s')
                if not self._domain_ok(info):  # cheaper than a pattern, and never a match
                    continue
                rx = first_match(sel.compiled_patterns, proctable.read_cmdline(info.pid), deadline)
                if rx is not None:
                    reasons[info.pid] = f'matches {rx.pattern!r} on domain {sel.domain_id}'
        if deadline is not None and time.monotonic() > deadline:
            raise PatternTimeout(f'selecting took longer than {sel.time_limit_s:g} s')
        return self._candidates(table, reasons, excluded)

    def _candidates(self, table, reasons, excluded) -> Dict[int, Candidate]:
        sel = self.sel
        out = {}
        for pid, reason in reasons.items():
            info = table.get(pid)
            if info is None or pid in excluded or info.kernel_thread or info.zombie:
                continue  # a zombie has already exited: nothing to stop
            # /proc/PID of a non-dumpable process is owned by root whoever runs it
            if not sel.allow_other_users and (info.uid != self.uid or (
                    info.uid == 0 and proctable.real_uid(pid) != self.uid)):
                continue
            cmdline = proctable.read_cmdline(pid)
            if first_match(sel.compiled_protect, cmdline) is not None:
                _log.debug('pid %d spared by protect list: %s', pid, cmdline)
                continue
            out[pid] = Candidate(pid=pid, create_time=info.create_time, name=info.name,
                                 cmdline=cmdline, reason=reason, ppid=info.ppid,
                                 start_ticks=info.start_ticks)
        for pid, cand in out.items():
            self.known.setdefault(pid, cand.start_ticks)
        return out


def check_root(selection: Selection) -> None:
    """
    Refuse a ``root_pid`` that is this process or an ancestor, that has left no trace.

    That started at another time than ``root_start_ticks`` says, or that belongs to another user
    (unless ``allow_other_users``).

    A root that has exited is accepted while processes of its session or
    process group live on (the kernel does not reuse such a pid); with
    ``root_start_ticks`` each of them must have started after the root.
    """
    rpid = selection.root_pid
    if rpid is None:
        return
    if rpid in excluded_pids({}, selection.spare_pids):
        raise ValueError(f'root_pid {rpid} is this process, the caller or one of their '
                         f'ancestors: its tree holds the caller')
    ticks = selection.root_start_ticks
    root = proctable.read_proc(rpid)
    if root is not None:
        if ticks is not None and root.start_ticks != ticks:
            raise ValueError(f'root_pid {rpid} started at {root.start_ticks} ticks after boot, '
                             f'not at {ticks}: the pid now belongs to another process')
        if not selection.allow_other_users and root.uid != os.geteuid():
            raise ValueError(f'root_pid {rpid} belongs to another user (uid {root.uid})')
        return
    members = [info for info in proctable.snapshot().values()
               if (info.sid == rpid or info.pgid == rpid) and info.pid != rpid
               and not info.zombie]
    if not members:
        raise ValueError(f'root_pid {rpid} does not exist (and no process of its session '
                         f'or process group is left)')
    if ticks is not None and any(info.start_ticks < ticks for info in members):
        raise ValueError(f'root_pid {rpid} has exited and its session or process group '
                         f'holds processes older than {ticks} ticks: not the tree asked for')


def select(selection: Selection) -> list:
    """Return the processes ``selection`` chooses now, each with its reason (sorted by pid)."""
    check_root(selection)
    found = Scanner(selection).scan()
    return [found[pid] for pid in sorted(found)]
