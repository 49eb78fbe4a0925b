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
A cgroup v2 of its own for a run we start, where the machine lets us have one.

``cgroup.kill`` (Linux 5.14+) kills every process in a cgroup at once, and no
process can leave a cgroup by forking, re-parenting or ``setsid``: the only
mechanism that guarantees nothing escapes. We create the run's cgroup under
our own cgroup (where systemd delegates to users, that is writable), so
nothing outside this process's own subtree is touched. Where cgroup v2 is
missing, read-only or lacks ``cgroup.kill``, :func:`create` returns ``None``
with the reason, and callers fall back to the run tag.
"""

import errno
import logging
import os
import time
from typing import Optional, Set, Tuple

from .mounts import mounts

__all__ = ['unified_mount', 'own_cgroup_dir', 'create', 'procs', 'kill', 'populated', 'remove',
           'move_to_parent', 'join']

_log = logging.getLogger(__name__)


def unified_mount() -> Optional[str]:
    """Mount point of the cgroup v2 hierarchy (``/sys/fs/cgroup`` or ``.../unified``)."""
    for mount in mounts():
        if mount['fstype'] == 'cgroup2':
            return mount['point']
    return None


def own_cgroup_dir() -> Tuple[Optional[str], str]:
    """(directory of this process's cgroup v2, reason when there is none)."""
    mount = unified_mount()
    if mount is None:
        return None, 'no cgroup v2 hierarchy mounted'
    try:
        with open('/proc/self/cgroup') as f:
            lines = f.read().splitlines()
    except OSError as exc:
        return None, f'cannot read /proc/self/cgroup: {exc}'
    for line in lines:
        if line.startswith('0::'):
            return os.path.join(mount, line[3:].lstrip('/')), ''
    return None, 'this process is in no cgroup v2'


def create(name: str) -> Tuple[Optional[str], str]:
    """Create a child cgroup ``name`` under our own; (path, '') or (None, why not)."""
    parent, why = own_cgroup_dir()
    if parent is None:
        return None, why
    if not os.access(parent, os.W_OK):
        return None, f'cgroup {parent} is not writable (no delegation)'
    path = os.path.join(parent, name)
    try:
        os.mkdir(path)
    except OSError as exc:
        return None, f'cannot create cgroup {path}: {exc}'
    if not (os.path.exists(os.path.join(path, 'cgroup.kill'))
            and os.access(os.path.join(path, 'cgroup.procs'), os.W_OK)):
        remove(path)
        return None, 'cgroup.kill not available (Linux < 5.14?)'
    return path, ''


def procs(path: str) -> Set[int]:
    """Pids in the cgroup (empty when it is gone)."""
    try:
        with open(os.path.join(path, 'cgroup.procs')) as f:
            return {int(line) for line in f if line.strip()}
    except OSError:
        return set()


def kill(path: str) -> bool:
    """SIGKILL every process in the cgroup, atomically with respect to forks."""
    try:
        with open(os.path.join(path, 'cgroup.kill'), 'w') as f:
            f.write('1')
        return True
    except OSError as exc:
        _log.warning('cgroup.kill on %s failed: %s', path, exc)
        return False


def move_to_parent(path: str, pid: int) -> bool:
    """Move ``pid`` out of the cgroup ``path`` into its parent cgroup (False on failure)."""
    try:
        with open(os.path.join(os.path.dirname(path.rstrip('/')), 'cgroup.procs'), 'w') as f:
            f.write(str(pid))
        return True
    except OSError as exc:
        if exc.errno != errno.ESRCH:
            _log.warning('cannot move pid %d out of cgroup %s: %s', pid, path, exc)
        return False


def join(path: str, pid: int) -> Optional[OSError]:
    """Move ``pid`` into the cgroup ``path``; ``None`` on success, else the error."""
    try:
        with open(os.path.join(path, 'cgroup.procs'), 'w') as f:
            f.write(str(pid))
        return None
    except OSError as exc:
        return exc


def populated(path: str) -> bool:
    """Return whether any live process is still in the cgroup."""
    try:
        with open(os.path.join(path, 'cgroup.events')) as f:
            for line in f:
                if line.startswith('populated '):
                    return line.split()[1] == '1'
    except OSError:
        return False
    return bool(procs(path))


def remove(path: str, timeout_s: float = 1.0) -> bool:
    """Remove an empty cgroup, waiting up to ``timeout_s`` for it to empty."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            os.rmdir(path)
            return True
        except FileNotFoundError:
            return True
        except OSError as exc:
            if time.monotonic() >= deadline:
                _log.warning('cannot remove cgroup %s: %s', path, exc)
                return False
            time.sleep(0.01)
