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
What a request from a peer on the ROS graph may select: the rules for untrusted callers.

ROS 2 has no authentication by default, so every field of a teardown request
is treated as hostile. A request can name only experiment processes:

- a run tag of the format this node accepts (``teardown.run_tag_format``); the
  tag *variable* is the node's own, never the request's;
- a ``root_pid`` together with its start time (field 22 of ``/proc/PID/stat``),
  so a reused pid is refused; never the node, its ancestors or children, the
  caller, or another user's process;
- command-line patterns only when the node was started with
  ``teardown.allow_request_patterns``, and then only over processes that prove
  they are on this ROS domain and part of ROS or a run (``strict_domain``).

Requests are bounded: at most :data:`MAX_PATTERNS` patterns of at most
:data:`MAX_PATTERN_LENGTH` characters, and one selection may take at most
:data:`SELECTION_TIME_LIMIT_S` (a catastrophic expression is cut off).
"""

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import regex

from .scanner import own_descendants
from .selection import DEFAULT_PROTECT, DEFAULT_TAG_VARIABLE, RUN_TAG_FORMAT, Selection

__all__ = ['RequestPolicy', 'teardown_selection', 'check_run_tag', 'MAX_PATTERNS',
           'MAX_PATTERN_LENGTH', 'MAX_TAG_LENGTH', 'SELECTION_TIME_LIMIT_S']

MAX_PATTERNS = 16
MAX_PATTERN_LENGTH = 256
MAX_TAG_LENGTH = 128
SELECTION_TIME_LIMIT_S = 1.0
_MAX_PID = 4194304  # PID_MAX_LIMIT on 64-bit Linux


@dataclass(frozen=True)
class RequestPolicy:
    """The node's start-up configuration that bounds what a request may select."""

    tag_variable: str = DEFAULT_TAG_VARIABLE
    run_tag_format: str = RUN_TAG_FORMAT
    allow_patterns: bool = False
    protect: Tuple[str, ...] = DEFAULT_PROTECT
    allow_other_users: bool = False


def check_run_tag(tag: str, run_tag_format: str = RUN_TAG_FORMAT) -> None:
    """
    Refuse a tag that does not look like a run tag (the whole tag must match the format).

    >>> check_run_tag('run-' + '0' * 32)
    >>> check_run_tag('/root')
    Traceback (most recent call last):
    ...
    ValueError: run tag '/root' does not look like a run tag (must match 'run-[0-9a-f]{32}')
    """
    if len(tag) > MAX_TAG_LENGTH:
        raise ValueError(f'run tag is {len(tag)} characters long (at most {MAX_TAG_LENGTH})')
    if not regex.fullmatch(run_tag_format, tag, timeout=SELECTION_TIME_LIMIT_S):
        raise ValueError(f'run tag {tag!r} does not look like a run tag '
                         f'(must match {run_tag_format!r})')


def _check_patterns(patterns: Sequence[str], policy: RequestPolicy) -> Tuple[str, ...]:
    patterns = tuple(p for p in patterns if p)
    if not patterns:
        return ()
    if not policy.allow_patterns:
        raise ValueError('patterns in a request are off on this node: name a run tag or a '
                         'root_pid with its start time (the operator may start the node with '
                         'teardown.allow_request_patterns:=true)')
    if len(patterns) > MAX_PATTERNS:
        raise ValueError(f'{len(patterns)} patterns given (at most {MAX_PATTERNS})')
    for pattern in patterns:
        if len(pattern) > MAX_PATTERN_LENGTH:
            raise ValueError(f'a pattern is {len(pattern)} characters long '
                             f'(at most {MAX_PATTERN_LENGTH})')
    return patterns


def _check_root(root_pid: int, root_start_time: int) -> Optional[int]:
    if not root_pid:
        if root_start_time:
            raise ValueError('root_start_time given without root_pid')
        return None
    if root_pid > _MAX_PID:
        raise ValueError(f'root_pid {root_pid} is not a process id')
    if not root_start_time:
        raise ValueError(f'root_pid {root_pid} given without root_start_time (field 22 of '
                         f'/proc/{root_pid}/stat): a pid alone may name a reused pid')
    if root_pid in own_descendants():
        raise ValueError(f'root_pid {root_pid} is a child of this node, not of a run')
    return root_pid


def teardown_selection(policy: RequestPolicy, *, run_tag: str = '', root_pid: int = 0,
                       root_start_time: int = 0, patterns: Sequence[str] = (),
                       caller_pid: int = 0) -> Selection:
    """
    Return a request's fields -> the Selection it may have; ``ValueError`` says why not.

    Checks that need the process table (a root of another user, a reused pid,
    the node's own ancestors) run again in the teardown itself, at its start.
    """
    if run_tag:
        check_run_tag(run_tag, policy.run_tag_format)
    root = _check_root(root_pid, root_start_time)
    patterns = _check_patterns(patterns, policy)
    if caller_pid > _MAX_PID:
        raise ValueError(f'caller_pid {caller_pid} is not a process id')
    return Selection(tag=run_tag or None, tag_variable=policy.tag_variable, root_pid=root,
                     root_start_ticks=root_start_time or None, patterns=patterns,
                     protect=policy.protect, allow_other_users=policy.allow_other_users,
                     spare_pids=(caller_pid,) if caller_pid else (), strict_domain=True,
                     time_limit_s=SELECTION_TIME_LIMIT_S)
