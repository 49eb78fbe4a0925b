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
Doctor checks of the system.

drop_caches, the process table, cgroups, DDS shared memory and the ROS environment. None writes
drop_caches, signals a process or creates a cgroup.
"""

import os
from typing import Iterable, Mapping, Optional, Tuple

from ..cleanup.steps import DROP_CACHES_PATH
from ..procs import cgroups, proctable
from ..memory.shm_root import DDS_SHM_ROOT
from ..procs.mounts import mount_of
from ..ros_domain import domain_id, safe_domain, safe_ranges_text
from ..units import mib
from .check import DEGRADED, UNAVAILABLE, WORKS, Check

__all__ = ['check_drop_caches', 'check_process_table', 'check_cgroups', 'check_dds_shm',
           'check_ros_env']


def check_drop_caches(path: str = DROP_CACHES_PATH) -> Check:
    """root, the file, and its mount writable (checked with access(2), never written)."""
    euid = os.geteuid()
    data = {'path': path, 'euid': euid}
    skip = 'the drop_caches step is skipped'
    if not os.path.exists(path):
        return Check('drop_caches', DEGRADED, f'{path} missing', skip, data)
    mount = mount_of(path)
    data['mount'] = mount
    if mount is not None and 'ro' in mount['options']:
        return Check('drop_caches', DEGRADED, f'{mount["point"]} is mounted read-only',
                     f'run on the host or a privileged container; {skip}', data)
    if euid != 0:
        return Check('drop_caches', DEGRADED, f'not root (uid {euid})',
                     f'run the cleanup node as root to drop caches; {skip}', data)
    if not os.access(path, os.W_OK):
        return Check('drop_caches', DEGRADED, f'{path} not writable for root',
                     f'check the container capabilities; {skip}', data)
    where = f' ({mount["point"]} mounted rw)' if mount else ''
    return Check('drop_caches', WORKS, f'root, {path} writable{where}', data=data)


def _probe_environ(pids: Iterable[int], limit: int = 20) -> Tuple[int, int]:
    readable = denied = 0
    for pid in list(pids)[:limit]:
        status, _ = proctable.read_environ_var(pid, 'PATH')
        if status in (proctable.ENV_OK, proctable.ENV_UNSET):
            readable += 1
        elif status == proctable.ENV_DENIED:
            denied += 1
    return readable, denied


def check_process_table() -> Check:
    """Read the table and probe environments: our user's processes, and other users'."""
    try:
        table = proctable.snapshot()
    except OSError as exc:
        return Check('process_table', UNAVAILABLE, f'cannot list /proc: {exc}',
                     'mount /proc (teardown reads it)')
    me, euid = os.getpid(), os.geteuid()
    own_ok = proctable.read_environ_var(me, 'PATH')[0] in (proctable.ENV_OK, proctable.ENV_UNSET)
    # pid 1 and zombies are never selected; kernel threads have no environment.
    users = [p for p in table.values()
             if not (p.kernel_thread or p.zombie or p.pid in (1, me))]
    same_ok, same_denied = _probe_environ(p.pid for p in users if p.uid == euid)
    other_ok, other_denied = _probe_environ(p.pid for p in users if p.uid != euid)
    hidepid = [o for o in (mount_of('/proc') or {}).get('super', []) if o.startswith('hidepid')]
    scope = 'all' if euid == 0 and not other_denied else 'user'
    data = {'processes': len(table), 'euid': euid, 'scope': scope, 'hidepid': hidepid,
            'own_uid_readable': same_ok, 'own_uid_denied': same_denied,
            'other_uid_readable': other_ok, 'other_uid_denied': other_denied}
    if not own_ok or (same_denied and not same_ok):
        return Check('process_table', UNAVAILABLE,
                     f'cannot read the environment of this user\'s processes '
                     f'({same_denied} denied)', 'teardown by run tag reads '
                     '/proc/PID/environ: check hidepid and security modules', data)
    text = (f'{len(table)} processes; environments readable for '
            + ('all users (root)' if scope == 'all' else f'this user only (uid {euid}); '
               "other users' denied"))
    if hidepid:
        text += f'; /proc {",".join(hidepid)}'
    if same_denied:
        return Check('process_table', DEGRADED, text + f'; {same_denied} of this user\'s '
                     'processes hide theirs (non-dumpable)',
                     'such processes are found by tree or pattern, not by run tag', data)
    return Check('process_table', WORKS, text, '' if scope == 'all' else
                 'teardown selects only this user\'s processes (root for all)', data)


def _kernel_at_least(major: int, minor: int) -> bool:
    try:
        parts = os.uname().release.split('.')
        return (int(parts[0]), int(parts[1].split('-')[0])) >= (major, minor)
    except (ValueError, IndexError):
        return False


def check_cgroups() -> Check:
    """Return a cgroup v2 child of our own cgroup could be created (not created here)."""
    parent, why = cgroups.own_cgroup_dir()
    fallback = 'runs fall back to the run tag (re-parented children are still found)'
    if parent is None:
        return Check('cgroups', DEGRADED, why, fallback)
    data = {'parent': parent}
    if not os.access(parent, os.W_OK):
        return Check('cgroups', DEGRADED, f'cgroup {parent} is not writable (no delegation)',
                     fallback + '; or use systemd-run --user --scope -p Delegate=yes', data)
    if not _kernel_at_least(5, 14):
        return Check('cgroups', DEGRADED, f'kernel {os.uname().release} has no cgroup.kill '
                     '(needs 5.14)', fallback, data)
    return Check('cgroups', WORKS, f'runs get a cgroup under {parent} (cgroup.kill)', data=data)


def check_dds_shm(root: str = DDS_SHM_ROOT) -> Check:
    """``root`` usable, and Fast DDS files and stale segments present now."""
    from ..memory.dds_shm import shm_usage
    if not os.path.isdir(root):
        return Check('dds_shm', DEGRADED, f'{root} does not exist',
                     'Fast DDS falls back to UDP; nothing to clean')
    usage = shm_usage(root, check_stale=True)
    data = usage.as_dict()
    text = (f'{root}: {usage.files} Fast DDS files ({mib(usage.bytes)}), '
            f'{usage.stale_files} stale ({mib(usage.stale_bytes)})')
    if not os.access(root, os.W_OK | os.X_OK):
        return Check('dds_shm', DEGRADED, text + f'; {root} not writable',
                     'stale segments cannot be removed by this user', data)
    remedy = ''
    if usage.stale_files:
        remedy = 'a comprehensive cleanup removes this user\'s stale segments'
    return Check('dds_shm', WORKS, text, remedy, data)


def check_ros_env(environ: Optional[Mapping[str, str]] = None) -> Check:
    """ROS_DOMAIN_ID and the discovery range a ROS process started here would use."""
    env = os.environ if environ is None else environ
    raw = env.get('ROS_DOMAIN_ID', '').strip()
    rng = env.get('ROS_AUTOMATIC_DISCOVERY_RANGE', '').strip().upper()
    data = {'domain_id': raw or '0 (unset)', 'discovery_range': rng or 'unset'}
    number = domain_id(raw)
    if raw and not (number is not None and safe_domain(number)):
        return Check('ros_env', UNAVAILABLE, f'ROS_DOMAIN_ID={raw!r} is not a valid domain',
                     f'use {safe_ranges_text()}', data)
    domain = f'ROS_DOMAIN_ID={raw}' if raw else 'ROS_DOMAIN_ID unset (0)'
    if rng == 'LOCALHOST' or (not rng and env.get('ROS_LOCALHOST_ONLY') == '1'):
        return Check('ros_env', WORKS, f'{domain}, discovery on this host only', data=data)
    if rng == 'OFF':
        return Check('ros_env', UNAVAILABLE, f'{domain}, ROS_AUTOMATIC_DISCOVERY_RANGE=OFF: '
                     'no discovery, even on this host', 'set it to LOCALHOST', data)
    if rng and rng not in ('SUBNET', 'SYSTEM_DEFAULT'):
        return Check('ros_env', UNAVAILABLE, f'ROS_AUTOMATIC_DISCOVERY_RANGE={rng} is not '
                     'valid', 'use LOCALHOST, SUBNET, OFF or SYSTEM_DEFAULT', data)
    what = f'={rng}' if rng else ' unset (SUBNET)'
    return Check('ros_env', DEGRADED, f'{domain}, ROS_AUTOMATIC_DISCOVERY_RANGE{what}: '
                 'cleanup nodes of other hosts on this domain are reachable',
                 'export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST unless the batch spans '
                 'machines', data)
