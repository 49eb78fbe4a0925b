"""A launched run's cgroup and record: made by RunTag, ended by Teardown, spared: the node."""

import os
from typing import Optional, Tuple

from launch.launch_context import LaunchContext
from launch.logging import get_logger

from ..core.procs import cgroups
from ..core.runs import launch_record
from ..core.runs.cgroup_trust import trusted_cgroup

__all__ = ['start_run', 'end_run', 'run_cgroup', 'add_spared', 'spared']

#: A launch global: pids of cleanup nodes started by this launch (in the run's cgroup, but
#: never part of the run).
SPARED = 'expclean_spared_pids'


def start_run(run_id: str, tag_variable: str) -> str:
    """For a fresh run tag: stop what launches killed before left, then give this run a
    cgroup where the machine allows (launch joins it, so everything it starts is in it)
    and record it. Returns the cgroup's path, or ''."""
    log = get_logger('expclean')
    for rec, result in launch_record.stop_stale():
        log.warning(f'run {rec.run_id} of launch pid {rec.launch_pid}, which is gone: '
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
    return path or ''


def run_cgroup(run_id: str, path: str) -> Optional[str]:
    """The run's cgroup from a launch configuration, if it is really that run's."""
    return trusted_cgroup(run_id, path) if path else None


def end_run(run_id: str, cgroup: Optional[str], result) -> None:
    """After a teardown that left nothing: remove the run's cgroup and its record."""
    launch_record.finish(run_id, cgroup, result)


def add_spared(context: LaunchContext, pid: int) -> None:
    """Never select ``pid`` (a cleanup node this launch started) in this launch's teardown."""
    context.extend_globals({SPARED: spared(context) + (pid,)})


def spared(context: LaunchContext) -> Tuple[int, ...]:
    return tuple(getattr(context.locals, SPARED, ()))
