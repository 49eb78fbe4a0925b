"""Memory probes on the real machine: RAM, swap, GPUs (or the reason there are none), RSS."""

import json
import os
import subprocess
import sys
import time

import pytest

from expclean_ros.core import memory
from expclean_ros.core.memory import GpuInfo, MemorySnapshot, process_rss, read_gpus, take_snapshot

_MIB = 1024 * 1024


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
    first = memory._NVML.module, memory._NVML.reason
    assert memory._NVML._tried
    read_gpus()
    assert (memory._NVML.module, memory._NVML.reason) == first
    assert (memory.nvml_reason() is None) == (first[0] is not None)


def test_process_rss_of_a_real_child_and_a_gone_pid(tmp_path):
    ready = tmp_path / 'ready'
    code = ("import sys, time; b = bytearray(b'\\x01') * (96 * 1024 * 1024); "
            f"open({str(ready)!r}, 'w').write('1'); time.sleep(60)")
    child = subprocess.Popen([sys.executable, '-c', code], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            if ready.exists():
                break
            time.sleep(0.05)
        assert ready.exists(), 'child did not allocate in time'
        rss = process_rss([child.pid, os.getpid()])
        assert rss[child.pid] >= 96 * _MIB
        assert rss[os.getpid()] > 0
    finally:
        child.kill()  # our own child, by pid
        child.wait(10)
    assert child.pid not in process_rss([child.pid])


def test_torch_fallback_needs_torch_imported_by_caller():
    if 'torch' in sys.modules:
        pytest.skip('torch already imported in this test process')
    assert not memory._torch_cuda_ready()
    assert 'torch' not in sys.modules  # reading memory never imports torch
