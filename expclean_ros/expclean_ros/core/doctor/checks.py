"""The checks behind ``expclean doctor``: one plain function per capability.

Each returns :class:`Check` (``works``, ``degraded`` or ``unavailable``, the
reason and what to do). Nothing here writes ``drop_caches``, signals a
process, creates a cgroup or imports torch into this process.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional, Sequence, Tuple

from ..procs import cgroups, proctable
from ..procs.mounts import mount_of
from ..cleanup.steps import DROP_CACHES_PATH, output_tail

__all__ = ['WORKS', 'DEGRADED', 'UNAVAILABLE', 'Check', 'check_memory', 'check_gpus',
           'check_torch', 'check_nvidia_smi', 'check_gpu_reset', 'check_drop_caches',
           'check_process_table', 'check_cgroups', 'check_dds_shm', 'check_ros_env']

WORKS = 'works'
DEGRADED = 'degraded'
UNAVAILABLE = 'unavailable'
_GIB = 1024 ** 3


@dataclass(frozen=True)
class Check:
    """One capability: ``state`` works | degraded | unavailable, why, and what to do."""

    name: str
    state: str
    reason: str
    remedy: str = ''
    data: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.state not in (WORKS, DEGRADED, UNAVAILABLE):
            raise ValueError(f'state must be works, degraded or unavailable, got {self.state!r}')

    def line(self) -> str:
        """One readable line: ``state name: reason -> remedy``."""
        text = f'{self.state:<11} {self.name}: {self.reason}'
        return f'{text} -> {self.remedy}' if self.remedy else text

    def as_dict(self) -> dict:
        return {'name': self.name, 'state': self.state, 'reason': self.reason,
                'remedy': self.remedy, 'data': dict(self.data)}


def check_memory() -> Check:
    """psutil reads RAM, swap and our own RSS."""
    try:
        import psutil
        vm, swap = psutil.virtual_memory(), psutil.swap_memory()
        rss = psutil.Process().memory_info().rss
    except ImportError as exc:
        return Check('memory', UNAVAILABLE, f'psutil not importable ({exc})',
                     'pip install psutil in this environment')
    except Exception as exc:
        return Check('memory', UNAVAILABLE, f'psutil failed: {type(exc).__name__}: {exc}',
                     'check that /proc is mounted and readable')
    used = vm.total - vm.available
    return Check('memory', WORKS, f'psutil {psutil.__version__}: RAM {used / _GIB:.1f}/'
                 f'{vm.total / _GIB:.1f} GiB, swap {swap.used / _GIB:.1f}/'
                 f'{swap.total / _GIB:.1f} GiB',
                 data={'ram_used_bytes': int(used), 'ram_total_bytes': int(vm.total),
                       'swap_used_bytes': int(swap.used), 'own_rss_bytes': int(rss)})


def _proc_name(pid: int) -> str:
    info = proctable.read_proc(pid)
    return info.name if info else '(gone)'


def check_gpus() -> Tuple[Check, ...]:
    """NVML, then one check per GPU with the processes holding it."""
    from ..memory.probes import nvml_reason, read_gpus
    reason = nvml_reason()
    if reason is not None:
        return (Check('nvml', UNAVAILABLE, reason, 'install the NVIDIA driver (libnvidia-ml) '
                      'or run where a GPU is visible; GPU steps are skipped'),)
    gpus, status = read_gpus()
    if status != 'ok':
        return (Check('nvml', UNAVAILABLE, status, 'check the NVIDIA driver with nvidia-smi'),)
    if not gpus:
        return (Check('nvml', DEGRADED, 'NVML works but reports no GPU',
                      'check CUDA_VISIBLE_DEVICES / the container GPU options'),)
    checks = [Check('nvml', WORKS, f'{len(gpus)} GPU(s)', data={'count': len(gpus)})]
    for gpu in gpus:
        held = ', '.join(f'pid {p.pid} {_proc_name(p.pid)} ({p.used_bytes / _GIB:.1f} GiB)'
                         for p in gpu.processes)
        checks.append(Check(f'gpu{gpu.index}', WORKS,
                            f'{gpu.name}: {gpu.used_bytes / _GIB:.1f}/'
                            f'{gpu.total_bytes / _GIB:.1f} GiB used; '
                            + (f'held by {held}' if held else 'no process holds it'),
                            data=gpu.as_dict()))
    return tuple(checks)


_TORCH_PROBE = ('import json, torch; c = torch.cuda.is_available(); '
                'print(json.dumps({"version": torch.__version__, "cuda": c, '
                '"cuda_version": torch.version.cuda, '
                '"devices": torch.cuda.device_count() if c else 0}))')


def check_torch(timeout_s: float = 30.0, python: str = sys.executable) -> Check:
    """torch and CUDA in this environment, probed in a child Python (never imported here)."""
    if importlib.util.find_spec('torch') is None:
        return Check('torch', UNAVAILABLE, f'torch not installed for {python}',
                     'optional: install the torch build your experiment uses; without it '
                     'python_memory only runs gc')
    try:
        proc = subprocess.run([python, '-c', _TORCH_PROBE], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return Check('torch', DEGRADED, f'import torch took longer than {timeout_s:g} s',
                     'check the installation; pass a longer --torch-timeout')
    lines = proc.stdout.decode(errors='replace').strip().splitlines()
    try:
        info = json.loads(lines[-1])
    except (IndexError, ValueError):
        return Check('torch', UNAVAILABLE, f'import torch failed (exit {proc.returncode}): '
                     f'{output_tail(proc.stdout, lines=1)}', 'reinstall torch')
    if not info['cuda']:
        return Check('torch', DEGRADED, f'torch {info["version"]} imports; CUDA not available',
                     'a CPU build or no driver: CUDA cache clearing is skipped', info)
    return Check('torch', WORKS, f'torch {info["version"]}, CUDA {info["cuda_version"]}, '
                 f'{info["devices"]} device(s)', data=info)


def check_nvidia_smi(timeout_s: float = 10.0) -> Check:
    """``nvidia-smi`` on PATH and able to list GPUs (``-L``, read-only)."""
    smi = shutil.which('nvidia-smi')
    if smi is None:
        return Check('nvidia_smi', UNAVAILABLE, 'nvidia-smi not found on PATH',
                     'install the NVIDIA driver utilities; GPU reset is skipped')
    try:
        proc = subprocess.run([smi, '-L'], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return Check('nvidia_smi', UNAVAILABLE, f'{smi} -L timed out after {timeout_s:g} s',
                     'check the driver (dmesg)')
    if proc.returncode != 0:
        return Check('nvidia_smi', UNAVAILABLE, f'{smi} -L exited {proc.returncode}: '
                     f'{output_tail(proc.stdout, lines=1)}', 'check the driver')
    listed = [ln for ln in proc.stdout.decode(errors='replace').splitlines() if ln.strip()]
    return Check('nvidia_smi', WORKS, f'{smi} lists {len(listed)} GPU(s)',
                 data={'path': smi, 'gpus': listed})


def check_gpu_reset(gpu_checks: Sequence[Check], smi: Check, allow: bool = False) -> Check:
    """Whether ``nvidia-smi --gpu-reset`` would run now, or why it would be refused."""
    nvml = gpu_checks[0] if gpu_checks else None
    if nvml is None or nvml.state != WORKS:
        return Check('gpu_reset', UNAVAILABLE, 'no NVML: cannot tell who uses the GPU',
                     'see nvml')
    if smi.state != WORKS:
        return Check('gpu_reset', UNAVAILABLE, f'no nvidia-smi ({smi.reason})', 'see nvidia_smi')
    if os.geteuid() != 0:
        return Check('gpu_reset', UNAVAILABLE, f'not root (uid {os.geteuid()})',
                     'run the cleanup node as root to reset GPUs')
    held = [c.name for c in gpu_checks[1:] if c.data.get('processes')]
    if held:
        return Check('gpu_reset', DEGRADED, 'would be refused now: ' + ', '.join(held)
                     + ' in use', 'stop the processes holding the GPU first (see gpuN lines)',
                     {'held': held})
    if not allow:
        return Check('gpu_reset', DEGRADED, 'possible, but off (allow_gpu_reset is false)',
                     'set allow_gpu_reset only on a GPU nobody else shares')
    return Check('gpu_reset', WORKS, 'no process holds a GPU: a reset would run')


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
    """A cgroup v2 child of our own cgroup could be created (not created here)."""
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


def check_dds_shm(root: str = '/dev/shm') -> Check:
    """``root`` usable, and Fast DDS files and stale segments present now."""
    from ..memory.dds_shm import shm_usage
    if not os.path.isdir(root):
        return Check('dds_shm', DEGRADED, f'{root} does not exist',
                     'Fast DDS falls back to UDP; nothing to clean')
    usage = shm_usage(root, check_stale=True)
    data = usage.as_dict()
    text = (f'{root}: {usage.files} Fast DDS files ({usage.bytes / 1024 ** 2:.1f} MiB), '
            f'{usage.stale_files} stale ({usage.stale_bytes / 1024 ** 2:.1f} MiB)')
    if not os.access(root, os.W_OK | os.X_OK):
        return Check('dds_shm', DEGRADED, text + f'; {root} not writable',
                     'stale segments cannot be removed by this user', data)
    remedy = ''
    if usage.stale_files:
        remedy = 'a comprehensive cleanup removes this user\'s stale segments'
    return Check('dds_shm', WORKS, text, remedy, data)


_DOMAIN_RANGES = ((0, 101), (215, 232))


def check_ros_env(environ: Optional[Mapping[str, str]] = None) -> Check:
    """ROS_DOMAIN_ID and the discovery range a ROS process started here would use."""
    env = os.environ if environ is None else environ
    raw = env.get('ROS_DOMAIN_ID', '').strip()
    rng = env.get('ROS_AUTOMATIC_DISCOVERY_RANGE', '').strip().upper()
    data = {'domain_id': raw or '0 (unset)', 'discovery_range': rng or 'unset'}
    if raw and not (raw.isdigit() and any(lo <= int(raw) <= hi for lo, hi in _DOMAIN_RANGES)):
        return Check('ros_env', UNAVAILABLE, f'ROS_DOMAIN_ID={raw!r} is not a valid domain',
                     'use 0-101 (or 215-232)', data)
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
