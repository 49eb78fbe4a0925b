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
Settling: wait only as long as memory is still moving, up to a cap.

Instead of the original script's fixed 10-30 s sleep, :func:`settle` samples RAM in use
(``total - available``) and GPU memory in use every ``interval_s`` and stops as
soon as, over the last ``window_s`` seconds, RAM moved less than
``tolerance_bytes`` and GPU memory moved less than ``gpu_tolerance_bytes`` or
is back at ``gpu_baseline_bytes``. A process freeing memory gradually keeps the
window moving, so settling is not reported while it frees; an idle machine
settles after one window (about 0.3 s by default). ``cap_s`` bounds the wait.

With ``writeback_baseline_bytes`` (Dirty + Writeback before the run), settling also
waits, within the cap, until the data the run wrote is on its way out: Dirty +
Writeback back within the tolerance of that level; the result says how long it
waited for it (``writeback_wait_s``).

A caller that knows memory in use before a run, and knows the run's processes
are gone, passes ``ram_baseline_bytes`` and ``gpu_baseline_bytes``: two readings
in a row back at or below both (within the tolerances) settle at once, without
waiting a whole window; the memory the run held has returned.

:func:`fixed_wait` is the original script's plain sleep, kept for callers that ask for it.
"""

import logging
import math
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Optional, Tuple

from ..units import MIB
from .gpu import gpu_used_bytes
from .probes import ram_used_bytes, writeback_bytes

__all__ = ['SettleResult', 'settle', 'fixed_wait', 'DEFAULT_TOLERANCE_BYTES',
           'DEFAULT_WINDOW_S', 'DEFAULT_INTERVAL_S', 'DEFAULT_GPU_TOLERANCE_BYTES']

_log = logging.getLogger(__name__)

DEFAULT_TOLERANCE_BYTES = 32 * MIB  # above the noise of a busy 2-core machine
DEFAULT_GPU_TOLERANCE_BYTES = 16 * MIB
DEFAULT_WINDOW_S = 0.3
DEFAULT_INTERVAL_S = 0.025


@dataclass(frozen=True)
class SettleResult:
    """
    How a wait ended.

    :param settled: memory stopped moving before the cap (always True for a fixed wait).
    :param seconds: time spent waiting.
    :param samples: memory readings taken (0 for a fixed wait).
    :param last_rate_bytes_per_s: RAM change rate over the last window (negative: freeing).
    :param reason: one readable line.
    :param ram_used_bytes: last RAM reading (0 for a fixed wait).
    :param gpu_used_bytes: last GPU reading, summed over GPUs.
    :param writeback_bytes: last Dirty + Writeback reading (0: not watched).
    :param writeback_wait_s: time spent waiting only for the writeback.
    """

    settled: bool
    seconds: float
    samples: int
    last_rate_bytes_per_s: float
    reason: str
    ram_used_bytes: int = 0
    gpu_used_bytes: int = 0
    writeback_bytes: int = 0
    writeback_wait_s: float = 0.0

    def as_dict(self) -> dict:
        return {'settled': self.settled, 'seconds': self.seconds, 'samples': self.samples,
                'last_rate_bytes_per_s': self.last_rate_bytes_per_s, 'reason': self.reason,
                'ram_used_bytes': self.ram_used_bytes, 'gpu_used_bytes': self.gpu_used_bytes,
                'writeback_bytes': self.writeback_bytes,
                'writeback_wait_s': self.writeback_wait_s}


def _check_positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f'{name} must be a finite number greater than zero, got {value!r}')
    return float(value)


def _check_wait(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value < 0:
        raise ValueError(f'{name} must be a finite number of seconds >= 0, got {value!r}')
    return float(value)


def _default_sample() -> Tuple[int, int]:
    return ram_used_bytes(), gpu_used_bytes()


def settle(cap_s: float = 10.0, *, tolerance_bytes: int = DEFAULT_TOLERANCE_BYTES,
           window_s: float = DEFAULT_WINDOW_S, interval_s: float = DEFAULT_INTERVAL_S,
           gpu_tolerance_bytes: int = DEFAULT_GPU_TOLERANCE_BYTES,
           gpu_baseline_bytes: Optional[int] = None,
           ram_baseline_bytes: Optional[int] = None,
           sample: Optional[Callable[[], Tuple[int, int]]] = None,
           stop: Optional[threading.Event] = None,
           writeback_baseline_bytes: Optional[int] = None,
           writeback: Callable[[], int] = writeback_bytes) -> SettleResult:
    """
    Sample memory until it stops moving, at most ``cap_s`` seconds.

    :param cap_s: give up after this many seconds (``settled=False``); 0 returns at once.
    :param stop: when set (e.g. the node shutting down), return at once, not settled.
    :param tolerance_bytes: RAM may move less than this over the window (default 32 MiB).
    :param window_s: length of the window that must be quiet (default 0.3 s).
    :param interval_s: time between readings (default 25 ms).
    :param gpu_tolerance_bytes: GPU memory may move less than this over the window.
    :param gpu_baseline_bytes: GPU use (summed) that counts as settled at once when
        reached (within ``gpu_tolerance_bytes``); None: only the window rule applies.
    :param ram_baseline_bytes: RAM in use before the run whose processes are now gone;
        with ``gpu_baseline_bytes``, two readings in a row at or below both baselines
        (within the tolerances) settle at once. None: only the window rule applies.
    :param sample: seam returning ``(ram_used, gpu_used)`` bytes; default reads the machine.
    :param writeback_baseline_bytes: Dirty + Writeback before the run: once memory has
        settled, also wait (within the cap) until they are back within ``tolerance_bytes``
        of it. None: not watched.
    :param writeback: seam returning Dirty + Writeback bytes; default reads /proc/meminfo.
    """
    cap_s = _check_wait('cap_s', cap_s)
    window_s = _check_positive('window_s', window_s)
    interval_s = _check_positive('interval_s', interval_s)
    tolerance = _check_positive('tolerance_bytes', tolerance_bytes)
    gpu_tolerance = _check_positive('gpu_tolerance_bytes', gpu_tolerance_bytes)
    read = sample or _default_sample
    start = time.monotonic()
    deadline = start + cap_s
    window = deque()  # (t, ram, gpu)
    count = 0
    rate = 0.0
    at_baseline = 0  # readings in a row back at both baselines
    flushed = _Writeback(writeback_baseline_bytes, tolerance, writeback)
    while True:
        now = time.monotonic()
        ram, gpu = read()
        count += 1
        window.append((now, ram, gpu))
        while len(window) > 1 and window[1][0] <= now - window_s:
            window.popleft()  # keep one reading at or before the window's start
        span = now - window[0][0]
        if span > 0:
            rate = (ram - window[0][1]) / span
        done = ''
        if _at_baseline(ram, gpu, ram_baseline_bytes, gpu_baseline_bytes, tolerance,
                        gpu_tolerance):
            at_baseline += 1
            if at_baseline >= 2:
                done = 'back at the memory in use before the run in'
        else:
            at_baseline = 0
        if not done and span >= window_s:
            rams = [w[1] for w in window]
            gpus = [w[2] for w in window]
            ram_quiet = max(rams) - min(rams) < tolerance
            gpu_quiet = (max(gpus) - min(gpus) < gpu_tolerance or
                         (gpu_baseline_bytes is not None and
                          gpu <= gpu_baseline_bytes + gpu_tolerance))
            if ram_quiet and gpu_quiet:
                done = 'settled in'
        if done and flushed.back(now):
            waited = now - start
            return SettleResult(True, waited, count, rate,
                                f'{done} {waited:.2f} s{flushed.note()}', ram, gpu,
                                flushed.last, flushed.waited)
        if now >= deadline:
            waited = now - start
            still = flushed.note() if done else ''
            return SettleResult(False, waited, count, rate,
                                f'not settled after the {cap_s:g} s cap '
                                f'(RAM moving {rate / MIB:+.1f} MiB/s){still}', ram, gpu,
                                flushed.last, flushed.waited)
        if _pause(stop, max(0.0, min(interval_s, deadline - time.monotonic()))):
            waited = time.monotonic() - start
            return SettleResult(False, waited, count, rate,
                                f'interrupted after {waited:.2f} s', ram, gpu)


class _Writeback:
    """Dirty + Writeback watched once memory has settled: back near the level before the run."""

    def __init__(self, level: Optional[int], tolerance: float, read: Callable[[], int]):
        self.level, self.tolerance, self.read = level, tolerance, read
        self.last, self.first, self.since, self.waited = 0, 0, None, 0.0

    def back(self, now: float) -> bool:
        if self.level is None:
            return True
        self.last = self.read()
        if self.since is None:
            self.since, self.first = now, self.last
        self.waited = now - self.since
        return self.last <= self.level + self.tolerance

    def note(self) -> str:
        if self.level is None or self.waited <= 0:
            return ''
        return (f'; waited {self.waited:.2f} s for writeback (Dirty+Writeback '
                f'{self.first / MIB:.0f} -> {self.last / MIB:.0f} MiB, '
                f'{self.level / MIB:.0f} MiB before the run)')


def _at_baseline(ram: int, gpu: int, ram_baseline: Optional[int], gpu_baseline: Optional[int],
                 tolerance: float, gpu_tolerance: float) -> bool:
    return (ram_baseline is not None and gpu_baseline is not None
            and ram <= ram_baseline + tolerance and gpu <= gpu_baseline + gpu_tolerance)


def _pause(stop: Optional[threading.Event], seconds: float) -> bool:
    """Sleep ``seconds``; True when ``stop`` was set (then at once)."""
    if stop is None:
        time.sleep(seconds)
        return False
    return stop.wait(seconds)


def fixed_wait(seconds: float, stop: Optional[threading.Event] = None) -> SettleResult:
    """
    Sleep exactly ``seconds`` (the original script's behaviour); reported as settled, 0 samples.

    :param stop: when set, the wait ends at once and is reported as not settled.
    """
    seconds = _check_wait('wait_time', seconds)
    start = time.monotonic()
    if _pause(stop, seconds):
        waited = time.monotonic() - start
        return SettleResult(False, waited, 0, 0.0, f'fixed wait interrupted after {waited:.2f} s')
    return SettleResult(True, time.monotonic() - start, 0, 0.0,
                        f'fixed wait of {seconds:g} s (no settling)')
