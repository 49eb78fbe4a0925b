"""Memory probes: RAM, swap, NVIDIA GPUs (via NVML) and Fast DDS shared memory.

One cheap snapshot type, :class:`MemorySnapshot`. GPU figures come from NVML
(``nvidia-ml-py``) only: NVML talks to the driver and never creates a CUDA
context (torch's ``mem_get_info`` would create one, hundreds of MiB, on every
device it reads). NVML is initialised once per process and a failure is cached
as a reason string, so a machine without a driver pays for the attempt only
once. Nothing here raises for a missing driver, library or device: the GPU
list is empty and ``gpu_status`` says why. Settling samples
:func:`gpu_used_bytes`, one ``nvmlDeviceGetMemoryInfo`` per device on cached
handles, the cheapest figure NVML has.
"""

import logging
import socket
import threading
import time
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import psutil

__all__ = ['GpuProcess', 'GpuInfo', 'MemorySnapshot', 'take_snapshot', 'read_gpus',
           'gpu_used_bytes', 'ram_used_bytes', 'nvml_reason', 'GPU_STATUS_OK']

_log = logging.getLogger(__name__)

#: ``gpu_status`` when NVML read the GPUs (MemoryUsage.GPU_STATUS_OK).
GPU_STATUS_OK = 'ok'


@dataclass(frozen=True)
class GpuProcess:
    """A process holding memory on a GPU (``used_bytes`` is 0 when NVML cannot tell)."""

    pid: int
    used_bytes: int = 0


@dataclass(frozen=True)
class GpuInfo:
    """One GPU: identity, memory in use and the processes holding it."""

    index: int
    name: str
    uuid: str
    used_bytes: int
    total_bytes: int
    processes: Tuple[GpuProcess, ...] = ()

    def as_dict(self) -> dict:
        return {'index': self.index, 'name': self.name, 'uuid': self.uuid,
                'used_bytes': self.used_bytes, 'total_bytes': self.total_bytes,
                'processes': [{'pid': p.pid, 'used_bytes': p.used_bytes}
                              for p in self.processes]}


@dataclass(frozen=True)
class MemorySnapshot:
    """RAM, swap, GPUs and Fast DDS shared memory at one instant.

    ``ram_used_bytes`` is ``total - available`` (memory the kernel cannot
    reclaim without swapping), which is what cleanup is meant to bring down.
    ``gpu_status`` is ``'ok'`` when GPUs were read, else the reason the list
    is empty (e.g. ``'NVML: NVML Shared Library Not Found
    (NVMLError_LibraryNotFound)'``).
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
                'dds_shm_files': self.dds_shm_files, 'dds_shm_bytes': self.dds_shm_bytes}


class _Nvml:
    """NVML initialised at most once per process; the failure reason is cached."""

    def __init__(self):
        self._lock = threading.Lock()
        self._tried = False
        self.module = None
        self.reason = ''
        self._handles = None

    def handles(self):
        """Device handles, read once (NVML handles stay valid while NVML is initialised)."""
        nvml = self.get()
        if nvml is None:
            return ()
        if self._handles is None:
            self._handles = tuple(nvml.nvmlDeviceGetHandleByIndex(i)
                                  for i in range(nvml.nvmlDeviceGetCount()))
        return self._handles

    def get(self):
        """Return the pynvml module once initialised, else None (see ``reason``)."""
        if self._tried:
            return self.module
        with self._lock:
            if self._tried:
                return self.module
            try:
                import pynvml  # from nvidia-ml-py
            except ImportError as exc:
                self.reason = f'NVML: nvidia-ml-py not installed ({exc})'
            else:
                try:
                    pynvml.nvmlInit()
                    self.module = pynvml
                except Exception as exc:  # NVMLError_* and OSError from ctypes
                    self.reason = f'NVML: {exc} ({type(exc).__name__})'
            if self.reason:
                _log.debug('GPU readings unavailable: %s', self.reason)
            self._tried = True
            return self.module


_NVML = _Nvml()


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _nvml_processes(nvml, handle) -> Tuple[GpuProcess, ...]:
    found: Dict[int, int] = {}
    for query in (nvml.nvmlDeviceGetComputeRunningProcesses,
                  nvml.nvmlDeviceGetGraphicsRunningProcesses):
        try:
            for proc in query(handle):
                used = getattr(proc, 'usedGpuMemory', None) or 0
                found[int(proc.pid)] = max(found.get(int(proc.pid), 0), int(used))
        except nvml.NVMLError as exc:
            _log.debug('NVML process query failed: %s', exc)
    return tuple(GpuProcess(pid, used) for pid, used in sorted(found.items()))


def _read_nvml(nvml) -> Tuple[GpuInfo, ...]:
    gpus = []
    for index in range(nvml.nvmlDeviceGetCount()):
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        mem = nvml.nvmlDeviceGetMemoryInfo(handle)
        gpus.append(GpuInfo(index=index, name=_text(nvml.nvmlDeviceGetName(handle)),
                            uuid=_text(nvml.nvmlDeviceGetUUID(handle)),
                            used_bytes=int(mem.used), total_bytes=int(mem.total),
                            processes=_nvml_processes(nvml, handle)))
    return tuple(gpus)


def read_gpus() -> Tuple[Tuple[GpuInfo, ...], str]:
    """Return ``(gpus, status)``: status is ``'ok'`` or why the tuple is empty. Never raises."""
    nvml = _NVML.get()
    if nvml is None:
        return (), _NVML.reason
    try:
        return _read_nvml(nvml), GPU_STATUS_OK
    except Exception as exc:
        return (), f'NVML: {exc} ({type(exc).__name__})'


def gpu_used_bytes() -> int:
    """Sum of memory in use over all GPUs (NVML, handles cached); 0 when none can be read.

    The cheapest GPU figure: no names, UUIDs or process lists, for settling's
    frequent samples.
    """
    nvml = _NVML.get()
    if nvml is None:
        return 0
    try:
        return sum(int(nvml.nvmlDeviceGetMemoryInfo(h).used) for h in _NVML.handles())
    except Exception as exc:
        _log.debug('NVML memory reading failed: %s', exc)
        return 0


def ram_used_bytes() -> int:
    """RAM in use (``total - available``), the quantity settling watches."""
    vm = psutil.virtual_memory()
    return int(vm.total - vm.available)


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
    """Read RAM, swap, GPUs and (optionally) Fast DDS shared memory. Never raises for GPUs."""
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
        dds_shm_files=shm_files, dds_shm_bytes=shm_bytes)


def nvml_reason() -> Optional[str]:
    """Why NVML is unavailable, or None when it initialised."""
    return None if _NVML.get() is not None else _NVML.reason
