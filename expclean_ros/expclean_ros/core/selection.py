"""Which processes belong to an experiment run: selection by tag, tree, pattern or cgroup.

Every chosen process carries the reason it was chosen. Never chosen: pid 1,
kernel threads, the calling process and its ancestors, processes of other
users (unless allowed), anything matching the protect list (the ROS 2 daemon
by default), and a pattern match on another ROS domain.
"""

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Dict, Iterable, Optional, Set, Tuple

from . import cgroups, proctable
from .patterns import PatternTimeout, compile_all, first_match
from .proctable import ENV_OK, ENV_UNSET, ProcInfo

__all__ = ['Selection', 'Candidate', 'select', 'check_root', 'parse_domain_id',
           'own_descendants', 'PatternTimeout', 'DEFAULT_TAG_VARIABLE', 'DEFAULT_PROTECT',
           'NO_SELECTION_MESSAGE']

_log = logging.getLogger(__name__)

DEFAULT_TAG_VARIABLE = 'EXPCLEAN_RUN_ID'
#: Never selected: the ROS 2 daemon, and the callers of the cleanup node, whose own
#: command lines may match a configured pattern: every verb of the expclean CLI
#: (``expclean``, ``python -m expclean_ros.cli``, ``ros2 cleanup``) and ``ros2 service
#: call`` of any of the node's services.
DEFAULT_PROTECT = (r'ros2-daemon', r'_ros2_daemon', r'(^|[\s/])expclean(\s|$)',
                   r'(^|\s)-m\s+expclean_ros\.cli(\s|$)', r'(^|[\s/])ros2\s+cleanup(\s|$)',
                   r'(^|[\s/])ros2\s+service\s+call\s+\S*/'
                   r'(quick|comprehensive|between_runs|teardown|get_memory)(\s|$)')
NO_SELECTION_MESSAGE = ('no selection given: pass a run tag, a root pid or a pattern; '
                        'expclean never stops everything')


def parse_domain_id(value: Optional[str]) -> Optional[int]:
    """A ``ROS_DOMAIN_ID`` value as a number; unset or empty = 0; ``None`` when not a number.

    Only ASCII digits count: ``str.isdigit`` also accepts e.g. ``'\u00b2'``,
    which ``int`` refuses.
    """
    value = (value or '').strip()
    if not value:
        return 0
    return int(value) if value.isascii() and value.isdecimal() else None


def _env_domain_id(needed: bool) -> Optional[int]:
    """Our own domain; a value that is not a number is refused like ROS refuses it
    (rcl does not start), but only when a pattern needs the domain."""
    raw = os.environ.get('ROS_DOMAIN_ID')
    value = parse_domain_id(raw)
    if value is None and needed:
        raise ValueError(f'ROS_DOMAIN_ID must be a non-negative integer (as ROS requires), '
                         f'got {raw!r}: pattern selection needs our domain; pass domain_id')
    return value


@dataclass(frozen=True)
class Selection:
    """What to stop. At least one of ``tag``, ``root_pid``, ``patterns``, ``cgroup``.

    :param tag: value of ``tag_variable`` carried by every process of the run.
    :param tag_variable: the environment variable holding the run tag.
    :param root_pid: stop this process, its descendants, and its session /
        process group when it leads one.
    :param patterns: regular expressions searched in the command line (as
        a kill by pattern does); a match must also be on ``domain_id``.
    :param cgroup: path of a cgroup v2 directory holding only the run.
    :param allow_other_users: also select processes of other users.
    :param protect: regular expressions; a matching command line is never selected.
    :param spare_own_children: never choose the caller's own descendants by
        pattern (a node's hook shells, a runner's helpers); a local script that
        started what it stops by pattern (the seed's way) passes ``False``.
        Tag, cgroup and tree selection of our own children are always allowed.
    :param spare_pids: processes that are never selected, with their
        ancestors: e.g. the remote caller of a teardown service, whose own
        command line names the pattern it asks for.
    :param domain_id: the caller's ROS domain; default ``$ROS_DOMAIN_ID`` (unset = 0).
        A ``$ROS_DOMAIN_ID`` that is not a number raises ``ValueError`` when
        ``patterns`` are given (ROS itself refuses to start with it) and
        leaves ``domain_id`` ``None`` otherwise (only patterns use it).
    :param strict_domain: a pattern reaches only processes that prove they are
        on ``domain_id`` and part of ROS or a run: an explicit ``ROS_DOMAIN_ID``
        equal to it, or (on domain 0) the run tag variable in their environment;
        never a process that merely lacks ``ROS_DOMAIN_ID``. The node's rule.
    :param root_start_ticks: start time of ``root_pid`` as in field 22 of
        ``/proc/PID/stat``; a root that started at another time (a reused pid)
        is refused.
    :param time_limit_s: longest one scan may take (patterns from a peer);
        past it the scan raises :class:`PatternTimeout`. None = no limit.
    """

    tag: Optional[str] = None
    root_pid: Optional[int] = None
    patterns: Tuple[str, ...] = ()
    tag_variable: str = DEFAULT_TAG_VARIABLE
    cgroup: Optional[str] = None
    allow_other_users: bool = False
    protect: Tuple[str, ...] = DEFAULT_PROTECT
    domain_id: Optional[int] = None
    spare_own_children: bool = True
    spare_pids: Tuple[int, ...] = ()
    strict_domain: bool = False
    root_start_ticks: Optional[int] = None
    time_limit_s: Optional[float] = None
    _compiled: tuple = field(default=(), init=False, repr=False, compare=False)
    _compiled_protect: tuple = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self):
        if isinstance(self.patterns, str):
            object.__setattr__(self, 'patterns', (self.patterns,))
        object.__setattr__(self, 'patterns', tuple(self.patterns))
        object.__setattr__(self, 'protect', tuple(self.protect))
        if not self.tag and self.root_pid is None and not self.patterns and not self.cgroup:
            raise ValueError(NO_SELECTION_MESSAGE)
        if self.root_pid is not None and (not isinstance(self.root_pid, int)
                                          or self.root_pid <= 1):
            raise ValueError(f'root_pid must be a process id greater than 1, '
                             f'got {self.root_pid!r}')
        if not self.tag_variable or '=' in self.tag_variable:
            raise ValueError(f'tag_variable must be a variable name, got {self.tag_variable!r}')
        object.__setattr__(self, '_compiled', compile_all(self.patterns, 'patterns'))
        object.__setattr__(self, '_compiled_protect', compile_all(self.protect,
                                                                  'protect patterns'))
        if self.domain_id is None:
            object.__setattr__(self, 'domain_id', _env_domain_id(bool(self.patterns)))

    @property
    def mechanism(self) -> str:
        """The selectors in use, e.g. ``'cgroup+tag'``."""
        parts = [name for name, used in (('cgroup', self.cgroup), ('tag', self.tag),
                                         ('tree', self.root_pid is not None),
                                         ('pattern', self.patterns)) if used]
        return '+'.join(parts)


@dataclass(frozen=True)
class Candidate:
    """One selected process: pid + create time identify it; reason says why it was chosen."""

    pid: int
    create_time: float
    name: str
    cmdline: str
    reason: str
    ppid: int = 0
    start_ticks: int = 0

    def as_dict(self) -> dict:
        return {'pid': self.pid, 'create_time': self.create_time, 'name': self.name,
                'cmdline': self.cmdline, 'reason': self.reason}


def _excluded_pids(table: Dict[int, ProcInfo], spare: Iterable[int] = ()) -> Set[int]:
    """pid 0/1/2, this process, the ``spare`` processes, and all their ancestors."""
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
    return set(_tree(proctable.snapshot() if table is None else table, (os.getpid(),)))


def _tree(table: Dict[int, ProcInfo], roots: Iterable[int]) -> Dict[int, str]:
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


_ROOT_GONE = -1


class _Scanner:
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

    def scan(self) -> Dict[int, Candidate]:
        """The processes selected now; :class:`PatternTimeout` past ``time_limit_s``."""
        sel = self.sel
        deadline = (None if sel.time_limit_s is None
                    else time.monotonic() + sel.time_limit_s)
        table = proctable.snapshot()
        excluded = _excluded_pids(table, sel.spare_pids)
        ours = (own_descendants(table) if sel._compiled and sel.spare_own_children
                else set())
        reasons: Dict[int, str] = {}
        if sel.cgroup:
            for pid in cgroups.procs(sel.cgroup):
                reasons[pid] = f'in cgroup {sel.cgroup}'
        if sel.root_pid is not None:
            root = table.get(sel.root_pid)
            if root is None and self.root_ticks is None:
                self.root_ticks = _ROOT_GONE  # a later process with this pid is not the root
            if root is None or self.root_ticks in (None, root.start_ticks):
                # A live sid/pgid is never reused as a pid, so while the root is gone its
                # session and group (re-parented orphans of a crashed launcher) are its own.
                rpid = sel.root_pid
                if root is not None:
                    self.root_ticks = root.start_ticks
                    reasons.setdefault(rpid, 'root')
                for info in table.values():
                    if info.sid == rpid and info.pid != rpid:
                        reasons.setdefault(info.pid, f'in session of {rpid}')
                    elif info.pgid == rpid and info.pid != rpid:
                        reasons.setdefault(info.pid, f'in process group of {rpid}')
            # descendants of everything already chosen keep being found after the root died
            alive_known = [p for p, t in self.known.items()
                           if p in table and table[p].start_ticks == t]
            for pid, why in _tree(table, set(reasons) | set(alive_known)).items():
                reasons.setdefault(pid, why)
        for info in table.values():
            if info.pid in excluded or info.kernel_thread:
                continue
            if not sel.allow_other_users and info.uid != self.uid:
                continue
            if sel.tag and info.pid not in reasons:
                status, value = self._env(info, sel.tag_variable)
                if status == ENV_OK and value == sel.tag:
                    reasons[info.pid] = f'tagged {sel.tag_variable}={sel.tag}'
            if sel._compiled and info.pid not in reasons and info.pid not in ours:
                if deadline is not None and time.monotonic() > deadline:
                    raise PatternTimeout(f'selecting took longer than {sel.time_limit_s:g} s')
                if not self._domain_ok(info):  # cheaper than a pattern, and never a match
                    continue
                rx = first_match(sel._compiled, proctable.read_cmdline(info.pid), deadline)
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
            if first_match(sel._compiled_protect, cmdline) is not None:
                _log.debug('pid %d spared by protect list: %s', pid, cmdline)
                continue
            out[pid] = Candidate(pid=pid, create_time=info.create_time, name=info.name,
                                 cmdline=cmdline, reason=reason, ppid=info.ppid,
                                 start_ticks=info.start_ticks)
        for pid, cand in out.items():
            self.known.setdefault(pid, cand.start_ticks)
        return out


def check_root(selection: Selection) -> None:
    """Refuse a ``root_pid`` that is this process or an ancestor, that has left no
    trace, that started at another time than ``root_start_ticks`` says, or that
    belongs to another user (unless ``allow_other_users``).

    A root that has exited is accepted while processes of its session or
    process group live on (the kernel does not reuse such a pid); with
    ``root_start_ticks`` each of them must have started after the root.
    """
    rpid = selection.root_pid
    if rpid is None:
        return
    if rpid in _excluded_pids({}, selection.spare_pids):
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
    """The processes ``selection`` chooses now, each with its reason (sorted by pid)."""
    check_root(selection)
    found = _Scanner(selection).scan()
    return [found[pid] for pid in sorted(found)]
