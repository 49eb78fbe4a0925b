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
Run tags for processes started by a launch file: choose the tag, build the env, list.

The launch helpers are thin wrappers around these, so the rules are tested
without launch installed. A launch started by ``expclean run`` already
carries a tag: it is kept, so the outer sequencer still finds every process.
"""

import os
from typing import Dict, Mapping, Optional, Tuple

from .tagged_start import new_run_id
from ..procs.scanner import select
from ..procs.selection import DEFAULT_TAG_VARIABLE, Candidate, Selection

__all__ = ['launch_run_id', 'tag_environment', 'tag_selection', 'tagged_tree']


def launch_run_id(env: Optional[Mapping[str, str]] = None,
                  tag_variable: str = DEFAULT_TAG_VARIABLE) -> str:
    """
    Return the run tag a launch should give its processes: the inherited one, else a fresh one.

    >>> launch_run_id({'EXPCLEAN_RUN_ID': 'run-outer'})
    'run-outer'
    >>> launch_run_id({}).startswith('run-')
    True
    """
    value = (os.environ if env is None else env).get(tag_variable, '').strip()
    return value or new_run_id()


def tag_environment(run_id: str, tag_variable: str = DEFAULT_TAG_VARIABLE) -> Dict[str, str]:
    """
    Return the environment entries that tag a process (pass as ``additional_env``).

    >>> tag_environment('run-1')
    {'EXPCLEAN_RUN_ID': 'run-1'}
    """
    if not run_id or not isinstance(run_id, str):
        raise ValueError(f'run_id must be a non-empty string, got {run_id!r}')
    Selection(tag=run_id, tag_variable=tag_variable)  # validates the variable name
    return {tag_variable: run_id}


def tag_selection(run_id: str, tag_variable: str = DEFAULT_TAG_VARIABLE,
                  cgroup: Optional[str] = None, spare_pids: Tuple[int, ...] = ()) -> Selection:
    """
    Every process carrying the tag, and every one in the run's ``cgroup``.

    Never the caller or its ancestors, e.g. launch itself, nor the ``spare_pids``.
    """
    return Selection(tag=run_id, tag_variable=tag_variable, cgroup=cgroup or None,
                     spare_pids=tuple(spare_pids))


def tagged_tree(run_id: str, tag_variable: str = DEFAULT_TAG_VARIABLE,
                cgroup: Optional[str] = None,
                spare_pids: Tuple[int, ...] = ()) -> Tuple[Candidate, ...]:
    """Return the processes of the run now (take it on shutdown, while parents still live)."""
    return tuple(select(tag_selection(run_id, tag_variable, cgroup, spare_pids)))
