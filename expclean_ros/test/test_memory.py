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

"""Memory probes on the real machine: RAM, swap, GPUs (or the reason there are none), RSS."""

import importlib.util
import json
import os
import subprocess
import sys

import psutil
import pytest

from helpers.nodes import wait_for_path
from expclean_ros.core.memory import gpu
from expclean_ros.core.memory.gpu import GpuInfo, read_gpus
from expclean_ros.core.memory.probes import MemorySnapshot, take_snapshot
from expclean_ros.core.units import MIB as _MIB


def process_rss(pids):
    """Resident set size in bytes of each pid still alive and readable; others left out."""
    rss = {}
    for pid in pids:
        try:
            rss[int(pid)] = int(psutil.Process(int(pid)).memory_info().rss)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return rss


def test_snapshot_reads_ram_and_swap():
    snap = take_snapshot()
    assert isinstance(snap, MemorySnapshot)
    assert snap.ram_total_bytes > 0
    assert 0 < snap.ram_used_bytes <= snap.ram_total_bytes
    assert snap.ram_used_bytes + snap.ram_available_bytes == snap.ram_total_bytes
    assert 0.0 <= snap.ram_percent <= 100.0
    assert 0 <= snap.swap_used_bytes <= snap.swap_total_bytes
    assert snap.hostname
    assert isinstance(snap.dds_shm_files, int) and snap.dds_shm_files >= 0
    assert isinstance(snap.dds_shm_bytes, int) and snap.dds_shm_bytes >= 0
    json.dumps(snap.as_dict())  # serialisable for the node and the CLI


def test_gpu_list_empty_with_reason_or_filled():
    gpus, status = read_gpus()
    snap = take_snapshot()
    if gpus:
        assert status.startswith('ok')
        assert all(isinstance(g, GpuInfo) and g.total_bytes >= g.used_bytes >= 0 for g in gpus)
    else:
        # This machine: nvidia-ml-py imports, nvmlInit raises NVMLError_LibraryNotFound.
        assert status.startswith('NVML: ')
        assert '(NVMLError' in status or 'not installed' in status
        assert snap.gpus == () and snap.gpu_status == status
        assert snap.gpu_used_bytes == 0


def test_nvml_is_initialised_once_and_failure_cached():
    read_gpus()
    first = gpu._NVML.module, gpu._NVML.reason
    assert gpu._NVML._tried
    read_gpus()
    assert (gpu._NVML.module, gpu._NVML.reason) == first
    assert (gpu.nvml_reason() is None) == (first[0] is not None)


def test_process_rss_of_a_real_child_and_a_gone_pid(tmp_path):
    ready = tmp_path / 'ready'
    code = ("import sys, time; b = bytearray(b'\\x01') * (96 * 1024 * 1024); "
            f"open({str(ready)!r}, 'w').write('1'); time.sleep(60)")
    child = subprocess.Popen([sys.executable, '-c', code], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for_path(ready), 'child did not allocate'
        rss = process_rss([child.pid, os.getpid()])
        assert rss[child.pid] >= 96 * _MIB
        assert rss[os.getpid()] > 0
    finally:
        child.kill()  # our own child, by pid
        child.wait(10)
    assert child.pid not in process_rss([child.pid])


def test_memory_never_imports_torch():
    if 'torch' in sys.modules:
        pytest.skip('torch already imported in this test process')
    take_snapshot()
    gpu.gpu_used_bytes()
    assert 'torch' not in sys.modules  # GPU figures come from NVML only


_NO_CONTEXT = """
import torch
from expclean_ros.core.cleanup import steps
from expclean_ros.core.memory import probes, settle
assert not torch.cuda.is_initialized()
probes.take_snapshot()
settle.settle(0.3, window_s=0.1)
result = steps.python_memory()
print(result.detail)
print(torch.cuda.is_initialized())
"""


def test_probes_and_python_memory_never_initialise_cuda():
    """With torch imported but CUDA unused, nothing of ours initialises CUDA (no context)."""
    if importlib.util.find_spec('torch') is None:  # not imported here: other tests need it absent
        pytest.skip('torch not installed (optional: torch==2.13.0; .ci/run installs it)')
    proc = subprocess.run([sys.executable, '-c', _NO_CONTEXT], capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-2000:]
    detail, initialised = proc.stdout.splitlines()[-2:]
    assert 'torch CUDA not initialised' in detail
    assert initialised == 'False'
