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
What a launched run leaves on disk, so a launch killed by SIGKILL leaves nothing running.

A launch that makes a run tag records it (tag, variable, cgroup, launch pid and
start time) in a small file under :func:`state_dir`, and removes it once its
teardown left nothing. Should launch and its cleanup node both be killed, the
file stays: the next wrapped launch, ``expclean run`` and ``expclean teardown
--last`` stop the runs whose launch is gone (never one whose launch still runs).
"""

import json
import logging
import os
import time
from dataclasses import dataclass
from typing import List, Optional, Tuple

from ..procs import cgroups, proctable
from ..procs.escalation import DEFAULT_STOP_TIMEOUTS_S, StopTimeouts
from ..procs.outcome import TeardownResult
from ..procs.requests import check_run_tag
from ..procs.selection import Selection
from ..procs.teardown import teardown
from .cgroup_trust import trusted_cgroup

__all__ = ['LaunchRecord', 'state_dir', 'record', 'exists', 'forget', 'records', 'stop_stale',
           'finish', 'close']

_log = logging.getLogger(__name__)

#: Overrides where the records live (tests give each run a folder of its own).
STATE_DIR_VARIABLE = 'EXPCLEAN_STATE_DIR'


def state_dir() -> str:
    """
    ``$EXPCLEAN_STATE_DIR``, else ``$XDG_RUNTIME_DIR/expclean/launches``.

    Else ``~/.cache/expclean/launches`` (the user's own, mode 0700).
    """
    given = os.environ.get(STATE_DIR_VARIABLE, '').strip()
    if given:
        return given
    base = os.environ.get('XDG_RUNTIME_DIR', '').strip() or os.path.expanduser('~/.cache')
    return os.path.join(base, 'expclean', 'launches')


@dataclass(frozen=True)
class LaunchRecord:
    """One launched run: its tag and cgroup, and the launch process that owns it."""

    run_id: str
    tag_variable: str
    cgroup: str
    launch_pid: int
    launch_start_ticks: int
    started_at: float
    path: str = ''

    def launch_alive(self) -> bool:
        info = proctable.read_proc(self.launch_pid)
        return info is not None and not info.zombie and \
            info.start_ticks == self.launch_start_ticks


def _path(run_id: str) -> str:
    return os.path.join(state_dir(), f'launch-{run_id}.json')


def record(run_id: str, tag_variable: str, cgroup: Optional[str]) -> Optional[str]:
    """Record the run of this process (the launch); the file's path, or None if it failed."""
    check_run_tag(run_id)
    me = proctable.read_proc(os.getpid())
    data = {'run_id': run_id, 'tag_variable': tag_variable, 'cgroup': cgroup or '',
            'launch_pid': os.getpid(), 'launch_start_ticks': me.start_ticks if me else 0,
            'started_at': time.time()}
    path = _path(run_id)
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        tmp = f'{path}.{os.getpid()}.tmp'
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w') as f:
            json.dump(data, f)
        os.replace(tmp, path)
    except OSError as exc:
        _log.warning('cannot record run %s in %s: %s (a launch killed by SIGKILL would '
                     'leave its processes to `expclean teardown --tag`)', run_id, path, exc)
        return None
    return path


def exists(run_id: str) -> bool:
    """Return whether ``run_id`` is still recorded."""
    return os.path.exists(_path(run_id))


def forget(run_id: str) -> None:
    """Remove the record of ``run_id`` (its teardown left nothing)."""
    try:
        os.unlink(_path(run_id))
    except FileNotFoundError:
        pass
    except OSError as exc:
        _log.warning('cannot remove the record of run %s: %s', run_id, exc)


def records() -> List[LaunchRecord]:
    """Every readable record, oldest first (unreadable or foreign files are skipped)."""
    found = []
    try:
        names = sorted(os.listdir(state_dir()))
    except OSError:
        return []
    for name in names:
        if not (name.startswith('launch-') and name.endswith('.json')):
            continue
        path = os.path.join(state_dir(), name)
        try:
            with open(path) as f:
                data = json.load(f)
            check_run_tag(data['run_id'])
            if name != f'launch-{data["run_id"]}.json':
                continue
            found.append(LaunchRecord(str(data['run_id']), str(data['tag_variable']),
                                      str(data.get('cgroup') or ''), int(data['launch_pid']),
                                      int(data['launch_start_ticks']),
                                      float(data['started_at']), path))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            _log.warning('ignoring run record %s: %s', path, exc)
    return sorted(found, key=lambda r: r.started_at)


def stop_stale(timeouts: StopTimeouts = DEFAULT_STOP_TIMEOUTS_S
               ) -> List[Tuple[LaunchRecord, TeardownResult]]:
    """Stop every recorded run whose launch is gone; forget those left with nothing."""
    done = []
    for rec in records():
        if rec.launch_alive():
            continue
        cgroup = trusted_cgroup(rec.run_id, rec.cgroup)
        result = teardown(Selection(tag=rec.run_id, tag_variable=rec.tag_variable,
                                    cgroup=cgroup), *timeouts)
        finish(rec.run_id, cgroup, result)
        done.append((rec, result))
    return done


def finish(run_id: str, cgroup: Optional[str], result: Optional[TeardownResult]) -> bool:
    """
    After a teardown of the run.

    When it left nothing, remove the run's cgroup and its record (else the record stays, for the
    next run start to stop what is left).
    """
    if result is None or result.left:
        return False
    close(run_id, cgroup)
    return True


def close(run_id: str, cgroup: Optional[str]) -> None:
    """Return the run is over and nothing of it is left: remove its cgroup and its record."""
    if cgroup:
        cgroups.remove(cgroup)
    forget(run_id)
