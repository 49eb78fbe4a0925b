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
