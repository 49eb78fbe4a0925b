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

"""The run's cgroup in a teardown: spare the unselected; check before ``cgroup.kill``."""

import logging
from typing import Dict

from . import cgroups, proctable
from .selection import Candidate

__all__ = ['evict_spared', 'only_tracked']

_log = logging.getLogger(__name__)


def evict_spared(path: str, found: Dict[int, Candidate]) -> None:
    """
    Move every member of the run's cgroup that is not selected to the parent cgroup.

    Those are the protected processes, the caller and other users' processes: ``cgroup.kill``
    must not reach them, and they must not keep the cgroup from being removed.
    """
    for pid in cgroups.procs(path) - set(found):
        if cgroups.move_to_parent(path, pid):
            _log.info('pid %d is spared: moved out of cgroup %s', pid, path)


def only_tracked(path: str, tracked) -> bool:
    """Return whether every live member of the cgroup is a process we selected and track."""
    ours = {t.cand.pid: t.cand.start_ticks for t in tracked.values() if t.stage is None}
    for pid in cgroups.procs(path):
        info = proctable.read_proc(pid)
        if info is None or info.zombie:
            continue
        if ours.get(pid) != info.start_ticks:
            _log.warning('cgroup %s holds pid %d that is not selected: no cgroup.kill, '
                         'SIGKILL by pid only', path, pid)
            return False
    return True
