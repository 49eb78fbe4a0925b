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
Which processes belong to an experiment run: selection by tag, tree, pattern or cgroup.

Every chosen process carries the reason it was chosen. Never chosen: pid 1,
kernel threads, the calling process and its ancestors, processes of other
users (unless allowed), anything matching the protect list (the ROS 2 daemon
by default), and a pattern match on another ROS domain.
"""

import logging
import os
from dataclasses import dataclass, field
from typing import Optional, Tuple

from ..ros_domain import parse_domain_id
from .patterns import PatternTimeout, compile_all

__all__ = ['Selection', 'Candidate', 'parse_domain_id', 'PatternTimeout', 'DEFAULT_TAG_VARIABLE',
           'DEFAULT_PROTECT', 'NO_SELECTION_MESSAGE', 'RUN_TAG_FORMAT']

_log = logging.getLogger(__name__)

DEFAULT_TAG_VARIABLE = 'EXPCLEAN_RUN_ID'
#: What ``runs.tagged_start.new_run_id`` makes; the cleanup node accepts only tags of this
#: format (parameter ``teardown.run_tag_format``) from a request.
RUN_TAG_FORMAT = r'run-[0-9a-f]{32}'
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


def _env_domain_id(needed: bool) -> Optional[int]:
    """
    Our own domain.

    A value that is not a number is refused like ROS refuses it (rcl does not start), but only when
    a pattern needs the domain.
    """
    raw = os.environ.get('ROS_DOMAIN_ID')
    value = parse_domain_id(raw)
    if value is None and needed:
        raise ValueError(f'ROS_DOMAIN_ID must be a non-negative integer (as ROS requires), '
                         f'got {raw!r}: pattern selection needs our domain; pass domain_id')
    return value


@dataclass(frozen=True)
class Selection:
    """
    What to stop. At least one of ``tag``, ``root_pid``, ``patterns``, ``cgroup``.

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
        started what it stops by pattern (the original script's way) passes ``False``.
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
    #: ``patterns`` and ``protect`` compiled (checked at construction).
    compiled_patterns: tuple = field(default=(), init=False, repr=False, compare=False)
    compiled_protect: tuple = field(default=(), init=False, repr=False, compare=False)

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
        object.__setattr__(self, 'compiled_patterns', compile_all(self.patterns, 'patterns'))
        object.__setattr__(self, 'compiled_protect', compile_all(self.protect,
                                                                 'protect patterns'))
        if self.domain_id is None:
            object.__setattr__(self, 'domain_id', _env_domain_id(bool(self.patterns)))

    @property
    def mechanism(self) -> str:
        """Return the selectors in use, e.g. ``'cgroup+tag'``."""
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
