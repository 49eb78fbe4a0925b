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
Memory probes: RAM, swap, NVIDIA GPUs (see :mod:`.gpu`), /dev/shm and Fast DDS shared memory.

One cheap snapshot type, :class:`MemorySnapshot`. GPU figures come from NVML
only; when they cannot be read the GPU list is empty and ``gpu_status`` says
why. Settling samples :func:`ram_used_bytes` and :func:`.gpu.gpu_used_bytes`.
"""

import logging
import socket
import time
from dataclasses import dataclass
from typing import Optional, Tuple

import psutil

from .gpu import GpuInfo, read_gpus

__all__ = ['MemorySnapshot', 'take_snapshot', 'ram_used_bytes', 'shm_used_bytes',
           'writeback_bytes']

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MemorySnapshot:
    """
    RAM, swap, GPUs, /dev/shm and Fast DDS shared memory at one instant.

    ``ram_used_bytes`` is ``total - available`` (memory the kernel cannot
    reclaim without swapping), which is what cleanup is meant to bring down.
    ``gpu_status`` is ``'ok'`` when GPUs were read, else the reason the list
    is empty (e.g. ``'NVML: NVML Shared Library Not Found
    (NVMLError_LibraryNotFound)'``). ``shm_used_bytes``: :func:`shm_used_bytes`, None when
    not read. ``writeback_bytes`` is Dirty + Writeback: written data not yet on disk.
    """

    timestamp: float
    hostname: str
    ram_total_bytes: int
    ram_used_bytes: int
    ram_available_bytes: int
    ram_percent: float
    swap_total_bytes: int
    swap_used_bytes: int
    swap_percent: float
    gpus: Tuple[GpuInfo, ...] = ()
    gpu_status: str = ''
    dds_shm_files: int = 0
    dds_shm_bytes: int = 0
    shm_used_bytes: Optional[int] = None
    writeback_bytes: int = 0

    @property
    def gpu_used_bytes(self) -> int:
        """Sum of memory in use over all GPUs."""
        return sum(g.used_bytes for g in self.gpus)

    def as_dict(self) -> dict:
        return {'timestamp': self.timestamp, 'hostname': self.hostname,
                'ram_total_bytes': self.ram_total_bytes,
                'ram_used_bytes': self.ram_used_bytes,
                'ram_available_bytes': self.ram_available_bytes,
                'ram_percent': self.ram_percent,
                'swap_total_bytes': self.swap_total_bytes,
                'swap_used_bytes': self.swap_used_bytes,
                'swap_percent': self.swap_percent,
                'gpus': [g.as_dict() for g in self.gpus], 'gpu_status': self.gpu_status,
                'dds_shm_files': self.dds_shm_files, 'dds_shm_bytes': self.dds_shm_bytes,
                'shm_used_bytes': self.shm_used_bytes,
                'writeback_bytes': self.writeback_bytes}


def ram_used_bytes() -> int:
    """RAM in use (``total - available``), the quantity settling watches."""
    vm = psutil.virtual_memory()
    return int(vm.total - vm.available)


def shm_used_bytes() -> Optional[int]:
    """
    Return the bytes tmpfs holds for the files of /dev/shm (or ``$EXPCLEAN_SHM_ROOT``).

    Every regular file, whoever made it (``st_blocks * 512``); None when it cannot be listed.
    """
    from .shm_record import list_entries
    from .shm_root import shm_root
    try:
        return sum(e.allocated for e in list_entries(shm_root()).values())
    except OSError as exc:
        _log.debug('/dev/shm in use unavailable: %s', exc)
        return None


def writeback_bytes(path: str = '/proc/meminfo') -> int:
    """Return Dirty + Writeback from ``path``: data written but not yet on disk (0: unknown)."""
    total = 0
    try:
        with open(path, 'rb') as f:
            for line in f:
                if line.startswith((b'Dirty:', b'Writeback:')):
                    total += int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return 0
    return total


def _dds_shm() -> Tuple[int, int]:
    try:
        from . import dds_shm
    except ImportError:  # another module of core; optional at run time
        return 0, 0
    try:
        usage = dds_shm.shm_usage()
    except Exception as exc:
        _log.debug('dds shm usage unavailable: %s', exc)
        return 0, 0
    return int(usage.files), int(usage.bytes)


def take_snapshot(*, include_dds_shm: bool = True) -> MemorySnapshot:
    """Read RAM, swap, GPUs and (optionally) /dev/shm and Fast DDS files. Never raises for GPUs."""
    vm = psutil.virtual_memory()
    swap = psutil.swap_memory()
    gpus, status = read_gpus()
    shm_files, shm_bytes = _dds_shm() if include_dds_shm else (0, 0)
    used = int(vm.total - vm.available)
    return MemorySnapshot(
        timestamp=time.time(), hostname=socket.gethostname(),
        ram_total_bytes=int(vm.total), ram_used_bytes=used,
        ram_available_bytes=int(vm.available), ram_percent=float(vm.percent),
        swap_total_bytes=int(swap.total), swap_used_bytes=int(swap.used),
        swap_percent=float(swap.percent), gpus=gpus, gpu_status=status,
        dds_shm_files=shm_files, dds_shm_bytes=shm_bytes,
        shm_used_bytes=shm_used_bytes() if include_dds_shm else None,
        writeback_bytes=writeback_bytes())
