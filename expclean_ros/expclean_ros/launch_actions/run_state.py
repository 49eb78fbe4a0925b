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

"""A launched run's cgroup and record, made by RunTag and ended by Teardown."""

import atexit
import os
from typing import Optional

from launch.logging import get_logger

from ..core.procs import cgroups
from ..core.runs import launch_record
from ..core.runs.cgroup_trust import trusted_cgroup
from ..core.runs.run_tag import tagged_tree

__all__ = ['start_run', 'finish_run', 'run_cgroup']


def start_run(run_id: str, tag_variable: str) -> str:
    """
    For a fresh run tag.

    Stop what launches killed before left, then give this run a cgroup where the machine allows
    (launch joins it, so everything it starts is in it) and record it. Returns the cgroup's path,
    or ''.
    """
    log = get_logger('expclean')
    for rec, result in launch_record.stop_stale():
        said = log.warning if result.processes else log.info  # something was left running
        said(f'run {rec.run_id} of launch pid {rec.launch_pid}, which is gone: '
             f'{result.summary()}')
    path, why = cgroups.create(f'expclean-{run_id}')
    if path:
        error = cgroups.join(path, os.getpid())
        if error is not None:
            cgroups.remove(path)
            path, why = None, f'cannot join cgroup {path}: {error.strerror or error}'
    if not path:
        log.warning(f'no cgroup for this run ({why}): a process that clears its environment '
                    '(env -i, sudo) escapes its teardown')
    launch_record.record(run_id, tag_variable, path)
    atexit.register(_at_exit, run_id, tag_variable, path)
    return path or ''


def _at_exit(run_id: str, tag_variable: str, cgroup: Optional[str]) -> None:
    """
    When launch exits (without a teardown that ended the run: a RunTag-only file, a plan refused).

    Launch leaves the run's cgroup; with nothing of the run left, its cgroup and record go; else
    they stay for the next run start.
    """
    if cgroup:
        cgroups.move_to_parent(cgroup, os.getpid())
    if not launch_record.exists(run_id):
        return  # a teardown finished the run already
    if not tagged_tree(run_id, tag_variable, cgroup):
        launch_record.close(run_id, cgroup)


def run_cgroup(run_id: str, path: str) -> Optional[str]:
    """Return the run's cgroup from a launch configuration, if it is really that run's."""
    return trusted_cgroup(run_id, path) if path else None


def finish_run(run_id: str, cgroup: Optional[str], result) -> None:
    """After a teardown that left nothing: remove the run's cgroup and its record."""
    launch_record.finish(run_id, cgroup, result)
