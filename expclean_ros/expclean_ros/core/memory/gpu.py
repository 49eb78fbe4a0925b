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
NVIDIA GPUs through NVML: memory in use, the processes holding it, never a CUDA context.

GPU figures come from NVML (``nvidia-ml-py``) only: NVML talks to the driver
and never creates a CUDA context (torch's ``mem_get_info`` would create one,
hundreds of MiB, on every device it reads). NVML is initialised once per
process and a failure is cached as a reason string, so a machine without a
driver pays for the attempt only once. Nothing here raises for a missing
driver, library or device: the GPU list is empty and the status says why.
:func:`gpu_used_bytes` is one ``nvmlDeviceGetMemoryInfo`` per device on cached
handles, the cheapest figure NVML has (settling samples it).
"""

import logging
import threading
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

__all__ = ['GpuProcess', 'GpuInfo', 'read_gpus', 'gpu_used_bytes', 'nvml_reason',
           'GPU_STATUS_OK']

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
    """
    Sum of memory in use over all GPUs (NVML, handles cached); 0 when none can be read.

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


def nvml_reason() -> Optional[str]:
    """Why NVML is unavailable, or None when it initialised."""
    return None if _NVML.get() is not None else _NVML.reason
