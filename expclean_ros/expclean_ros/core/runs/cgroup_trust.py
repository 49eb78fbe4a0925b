"""
Which cgroup a run owns.

``expclean-<run_id>`` next to ours, and never one a ledger names otherwise (a ledger is a file
anyone could edit).
"""

import logging
import os
from typing import Optional

from ..procs import cgroups

__all__ = ['expected_cgroup', 'trusted_cgroup']

_log = logging.getLogger(__name__)


def expected_cgroup(run_id: str) -> Optional[str]:
    parent, _ = cgroups.own_cgroup_dir()
    return os.path.join(parent, f'expclean-{run_id}') if parent else None


def trusted_cgroup(run_id: str, cgroup) -> Optional[str]:
    """
    ``cgroup`` from a ledger line if it is ``expclean-<run_id>`` under the cgroup v2 mount.

    A ledger is a file anyone could edit: never tear down another cgroup.
    """
    mount = cgroups.unified_mount()
    if not cgroup or not isinstance(cgroup, str) or mount is None:
        return None
    path = os.path.normpath(cgroup)
    if (path != cgroup.rstrip('/') or os.path.basename(path) != f'expclean-{run_id}'
            or os.path.commonpath([path, mount]) != mount or path == mount):
        _log.warning('ledger names cgroup %r for run %s: not its own cgroup, ignored',
                     cgroup, run_id)
        return None
    return path if os.path.isdir(path) and not os.path.islink(path) else None
