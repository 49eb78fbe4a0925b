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
Cleanup steps: each returns a :class:`StepResult` and never raises.

- :func:`python_memory`: ``gc.collect()`` and, only when torch is imported
  here and its CUDA state is already initialised, synchronize the devices that
  hold memory, ``empty_cache()`` and ``ipc_collect()``: never a new CUDA context.
- :func:`system_caches`: ``3 > /proc/sys/vm/drop_caches`` after ``sync``;
  skipped with the reason (and no sync) when not permitted, read-only or missing.
- :func:`gpu_reset`: ``nvidia-smi --gpu-reset``; off unless allowed, refused
  while any process holds the GPU, skipped without NVML or nvidia-smi.
- :func:`run_hook`: a user shell command with a timeout.
- :func:`teardown_slot`: calls the teardown engine's step when one is given.
"""

import errno
import gc
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from typing import Callable, Optional, Sequence

from ..step_result import FAILED, OK, SKIPPED, StepResult, run_step
from ..units import MIB

__all__ = ['DROP_CACHES_PATH', 'python_memory', 'system_caches', 'gpu_reset', 'run_hook',
           'teardown_slot', 'output_tail']

_log = logging.getLogger(__name__)

DROP_CACHES_PATH = '/proc/sys/vm/drop_caches'
_SKIP_ERRNOS = {errno.EACCES: 'not permitted', errno.EPERM: 'not permitted',
                errno.EROFS: 'read-only', errno.ENOENT: 'missing'}


def _torch_cuda():
    """
    Return the torch module when imported here with CUDA already initialised, else None.

    ``is_initialized()`` reads a flag; ``is_available()`` would initialise the
    driver, and synchronize/ipc_collect on a process that never used CUDA would
    create a context (hundreds of MiB of GPU memory).
    """
    torch = sys.modules.get('torch')
    try:
        if torch is not None and torch.cuda.is_initialized():
            return torch
    except Exception:
        pass
    return None


def _torch_devices_in_use(torch):
    """Devices where torch's caching allocator holds memory: they already have a context."""
    return [i for i in range(torch.cuda.device_count()) if torch.cuda.memory_reserved(i) > 0]


def _python_memory() -> StepResult:
    collected = gc.collect()
    data = {'gc_collected': collected}
    torch = _torch_cuda()
    if torch is None:
        return StepResult('python_memory', OK,
                          f'gc collected {collected} objects; torch CUDA not initialised in this '
                          'process',
                          data=data)
    devices = _torch_devices_in_use(torch)
    before = sum(int(torch.cuda.memory_reserved(i)) for i in devices)
    for index in devices:  # synchronize(i) only where a context exists already
        torch.cuda.synchronize(index)
    torch.cuda.empty_cache()
    torch.cuda.ipc_collect()
    after = sum(int(torch.cuda.memory_reserved(i)) for i in devices)
    data['torch_freed_bytes'] = max(0, before - after)
    return StepResult('python_memory', OK,
                      f'gc collected {collected} objects; torch CUDA cache freed '
                      f'{data["torch_freed_bytes"] / MIB:.1f} MiB', data=data)


def python_memory() -> StepResult:
    """Collect garbage and empty torch's CUDA cache when torch is already imported here."""
    return run_step('python_memory', _python_memory)


def _cached_bytes() -> int:
    import psutil
    return int(getattr(psutil.virtual_memory(), 'cached', 0))


def _not_permitted(name: str, path: str, exc: OSError) -> StepResult:
    reason = _SKIP_ERRNOS.get(exc.errno)
    if reason is None:
        return StepResult(name, FAILED, f'writing {path}: {exc}',
                          data={'reason': errno.errorcode.get(exc.errno, str(exc.errno))})
    who = 'not root' if os.geteuid() != 0 else 'root'
    return StepResult(name, SKIPPED,
                      f'{reason}: cannot write {path} ({errno.errorcode[exc.errno]}, {who})',
                      data={'reason': reason})


def _system_caches(path: str, sync: Callable[[], None]) -> StepResult:
    name = 'drop_caches'
    if not os.path.exists(path):
        return StepResult(name, SKIPPED, f'{path} missing', data={'reason': 'missing'})
    try:  # the kernel checks write permission at open: no machine-wide sync for a skip
        fd = os.open(path, os.O_WRONLY)
    except OSError as exc:
        return _not_permitted(name, path, exc)
    try:
        before = _cached_bytes()
        sync()
        os.write(fd, b'3\n')
    except OSError as exc:
        return _not_permitted(name, path, exc)
    finally:
        os.close(fd)
    after = _cached_bytes()
    freed = max(0, before - after)
    return StepResult(name, OK, f'synced and dropped page cache, dentries and inodes '
                      f'({freed / MIB:.0f} MiB of cache freed)',
                      data={'cached_before_bytes': before, 'cached_after_bytes': after,
                            'freed_bytes': freed})


def system_caches(path: str = DROP_CACHES_PATH, *,
                  sync: Callable[[], None] = os.sync) -> StepResult:
    """
    Write 3 to ``drop_caches`` after ``sync``; skipped (not failed) when not permitted.

    Permission is checked first (opening the file for writing), so ``sync``
    runs only when the write will happen.
    """
    return run_step('drop_caches', lambda: _system_caches(path, sync))


def _gpu_reset(allow: bool, indices: Optional[Sequence[int]], timeout_s: float,
               smi: Optional[str]) -> StepResult:
    name = 'gpu_reset'
    if not allow:
        return StepResult(name, SKIPPED, 'GPU reset not allowed (it resets the GPU for '
                          'every user; enable allow_gpu_reset to permit it)',
                          data={'reason': 'not allowed'})
    from ..memory.gpu import read_gpus
    gpus, status = read_gpus()
    if status != 'ok':  # without NVML nobody can tell who holds the GPU
        return StepResult(name, SKIPPED, f'cannot check who uses the GPU: {status}',
                          data={'reason': 'no NVML'})
    if not gpus:
        return StepResult(name, SKIPPED, 'NVML reports no GPU', data={'reason': 'no GPU'})
    smi = smi or shutil.which('nvidia-smi')
    if smi is None:
        return StepResult(name, SKIPPED, 'nvidia-smi not found on PATH',
                          data={'reason': 'no nvidia-smi'})
    wanted = [g for g in gpus if indices is None or g.index in indices]
    held = {g.index: [p.pid for p in g.processes] for g in wanted if g.processes}
    if held:
        text = ', '.join(f'GPU{i} by pid {" ".join(map(str, pids))}' for i, pids in held.items())
        return StepResult(name, SKIPPED, f'refused: GPU in use ({text})',
                          data={'reason': 'GPU in use', 'held': held})
    done, failures = [], []
    for gpu in wanted:
        try:
            proc = subprocess.run([smi, '--gpu-reset', '-i', str(gpu.index)],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired:
            failures.append(f'GPU{gpu.index}: timed out after {timeout_s:g} s')
            continue
        if proc.returncode == 0:
            done.append(gpu.index)
        else:
            tail = output_tail(proc.stdout, lines=2)
            failures.append(f'GPU{gpu.index}: exit {proc.returncode}: {tail}')
    if failures:
        return StepResult(name, FAILED, '; '.join(failures), data={'reset': done})
    return StepResult(name, OK, 'reset ' + ', '.join(f'GPU{i}' for i in done),
                      data={'reset': done})


def gpu_reset(allow: bool = False, *, indices: Optional[Sequence[int]] = None,
              timeout_s: float = 60.0, smi: Optional[str] = None) -> StepResult:
    """
    Reset idle GPUs with ``nvidia-smi --gpu-reset -i N``; off unless ``allow``.

    Refused (skipped) while NVML shows any process on a selected GPU; skipped
    when NVML or nvidia-smi is missing. ``smi``: the command to run instead of
    ``nvidia-smi`` (tests pass a harmless one: a test never resets a real GPU).
    """
    return run_step('gpu_reset', lambda: _gpu_reset(allow, indices, timeout_s, smi))


def output_tail(raw, lines: int = 10, chars: int = 2000) -> str:
    """Return the last ``lines`` lines (at most ``chars`` characters) of a command's output."""
    text = raw.decode(errors='replace') if isinstance(raw, bytes) else (raw or '')
    tail = '\n'.join(text.rstrip().splitlines()[-lines:])
    return tail[-chars:]


def _kill_session(proc: subprocess.Popen) -> None:
    """SIGKILL the session our hook runs in (its group id is the hook's own pid)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _run_hook(command: str, timeout_s: float, name: str) -> StepResult:
    start = time.monotonic()
    proc = subprocess.Popen(command, shell=True, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill_session(proc)
        try:
            out, _ = proc.communicate(timeout=5.0)
        except subprocess.TimeoutExpired:  # a descendant escaped the session, holds the pipe
            proc.kill()
            proc.wait()
            out = b''
        return StepResult(name, FAILED, f'{command!r} timed out after {timeout_s:g} s',
                          time.monotonic() - start,
                          {'command': command, 'exit_code': None, 'timed_out': True,
                           'output_tail': output_tail(out), 'reason': 'timed out'})
    tail = output_tail(out)
    data = {'command': command, 'exit_code': proc.returncode, 'timed_out': False,
            'output_tail': tail}
    if proc.returncode != 0:
        data['reason'] = f'exit {proc.returncode}'
        last = tail.splitlines()[-1] if tail else ''
        return StepResult(name, FAILED, f'{command!r} exited {proc.returncode}'
                          + (f': {last}' if last else ''), time.monotonic() - start, data)
    return StepResult(name, OK, f'{command!r} exited 0', time.monotonic() - start, data)


def run_hook(command: str, timeout_s: float = 60.0, *, name: str = 'hook') -> StepResult:
    """
    Run a user shell command; non-zero exit or timeout is ``failed``, with the output tail.

    The hook runs in its own session; on timeout the whole session is killed.
    """
    if not isinstance(command, str) or not command.strip():
        raise ValueError('hook command must be a non-empty string')
    if not timeout_s > 0:
        raise ValueError(f'hook timeout must be greater than zero, got {timeout_s!r}')
    return run_step(name, lambda: _run_hook(command, timeout_s, name))


def teardown_slot(fn: Optional[Callable[[], StepResult]] = None) -> StepResult:
    """Run the teardown engine's step ``fn``; ``skipped`` when no selection is configured."""
    if fn is None:
        return StepResult('teardown', SKIPPED, 'no teardown selection configured',
                          data={'reason': 'no selection'})
    return run_step('teardown', fn)
