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
Doctor checks of memory and GPUs: psutil, NVML, torch (in a child process), nvidia-smi, GPU reset.

None changes anything or imports torch into this process.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from typing import Sequence, Tuple

from ..cleanup.steps import output_tail
from ..procs import proctable
from ..units import GIB
from .check import DEGRADED, UNAVAILABLE, WORKS, Check

__all__ = ['check_memory', 'check_gpus', 'check_torch', 'check_nvidia_smi', 'check_gpu_reset']


def check_memory() -> Check:
    """Check that psutil reads RAM, swap and our own RSS."""
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
    return Check('memory', WORKS, f'psutil {psutil.__version__}: RAM {used / GIB:.1f}/'
                 f'{vm.total / GIB:.1f} GiB, swap {swap.used / GIB:.1f}/'
                 f'{swap.total / GIB:.1f} GiB',
                 data={'ram_used_bytes': int(used), 'ram_total_bytes': int(vm.total),
                       'swap_used_bytes': int(swap.used), 'own_rss_bytes': int(rss)})


def _proc_name(pid: int) -> str:
    info = proctable.read_proc(pid)
    return info.name if info else '(gone)'


def check_gpus() -> Tuple[Check, ...]:
    """NVML, then one check per GPU with the processes holding it."""
    from ..memory.gpu import nvml_reason, read_gpus
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
        held = ', '.join(f'pid {p.pid} {_proc_name(p.pid)} ({p.used_bytes / GIB:.1f} GiB)'
                         for p in gpu.processes)
        checks.append(Check(f'gpu{gpu.index}', WORKS,
                            f'{gpu.name}: {gpu.used_bytes / GIB:.1f}/'
                            f'{gpu.total_bytes / GIB:.1f} GiB used; '
                            + (f'held by {held}' if held else 'no process holds it'),
                            data=gpu.as_dict()))
    return tuple(checks)


_TORCH_PROBE = ('import json, torch; c = torch.cuda.is_available(); '
                'print(json.dumps({"version": torch.__version__, "cuda": c, '
                '"cuda_version": torch.version.cuda, '
                '"devices": torch.cuda.device_count() if c else 0}))')


def check_torch(timeout_s: float = 30.0, python: str = sys.executable) -> Check:
    """Check torch and CUDA in this environment, probed in a child Python (never imported here)."""
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
    """Return whether ``nvidia-smi --gpu-reset`` would run now, or why it would be refused."""
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
