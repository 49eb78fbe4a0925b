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

"""What a cleanup plan may do: :class:`CleanupOptions`, checked when made."""

import math
import numbers
import threading
from dataclasses import dataclass, field
from typing import Callable, Optional, Tuple

from ..memory.attribution import Baseline
from ..memory.probes import MemorySnapshot
from ..memory.settle import DEFAULT_INTERVAL_S, DEFAULT_TOLERANCE_BYTES
from ..memory.shm_record import ShmRecord
from ..step_result import StepResult
from .verify import DEFAULT_VERIFY_TOLERANCE_BYTES

__all__ = ['CleanupOptions', 'check_seconds', 'check_int']


def check_seconds(name: str, value, allow_zero: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        rule = '>= 0' if allow_zero else '> 0'
        raise ValueError(f'{name} must be a finite number of seconds {rule}, got {value!r}')
    return float(value)


def check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f'{name} must be an integer >= {minimum} (not a bool), got {value!r}')
    return int(value)


@dataclass(frozen=True)
class CleanupOptions:
    """
    What a plan may do. Lists of hooks are stored as tuples.

    :param allow_system_caches: comprehensive plans drop page cache (needs root).
    :param allow_gpu_reset: comprehensive plans may run ``nvidia-smi --gpu-reset``
        on GPUs no process holds (off by default: it resets the GPU for everyone).
    :param gpu_reset_timeout_s: timeout of each ``nvidia-smi --gpu-reset``.
    :param hooks_before: shell commands run first, in order.
    :param hooks_after: shell commands run last, after settling.
    :param hook_timeout_s: timeout of each hook; a hook that times out is ``failed``.
    :param settle: True: wait by settling, the plan's wait is a cap; False: the
        original script's fixed sleep of the plan's wait.
    :param settle_tolerance_bytes: RAM movement allowed over the window (32 MiB).
    :param settle_window_s: quiet window; None: the plan's own (quick
        :data:`~.plans.QUICK_WINDOW_S` 0.15 s, comprehensive 0.3 s).
    :param settle_interval_s: sampling interval (25 ms).
    :param gpu_baseline_bytes: summed GPU use that counts as settled (None: window only).
    :param ram_baseline_bytes: RAM in use before a run whose processes are verified
        gone; with ``gpu_baseline_bytes``, memory back at both settles at once (see
        :func:`..memory.settle.settle`). None: the window rule only.
    :param writeback_baseline_bytes: Dirty + Writeback before the run: settling also waits,
        within its cap, until they are back near it (None: not watched).
    :param dds_shm_cleanup: remove stale Fast DDS shared memory that killed
        nodes left in ``/dev/shm`` (after the teardown, which may SIGKILL).
    :param shm_cleanup: remove ``/dev/shm`` files whose creator is provably gone and
        that nobody holds (``torch_<pid>_...``; see :mod:`..memory.run_shm`).
    :param verify_baseline: memory before the run: after the cleanup RAM, swap and
        each GPU are compared with it (see :mod:`.verify`).
    :param verify_shm: ``/dev/shm`` as it was then (before the run, or at a node's
        previous cleanup): growth since is judged and named.
    :param verify_since: how that moment is named in the message.
    :param verify_processes: the process table and the kernel's figures then
        (:class:`..memory.attribution.Baseline`): the RAM grown since is accounted to
        processes and the kernel, named after the verdict (no run is told apart).
    :param verify_tolerance_bytes: what may be above the level and still be back.
    :param stop: an Event that ends a running wait at once (a node shutting down).
    :param teardown: callable returning the teardown engine's StepResult (e.g.
        ``functools.partial(teardown.teardown_step, selection)``); None: skipped.
    """

    allow_system_caches: bool = True
    allow_gpu_reset: bool = False
    gpu_reset_timeout_s: float = 60.0
    hooks_before: Tuple[str, ...] = ()
    hooks_after: Tuple[str, ...] = ()
    hook_timeout_s: float = 60.0
    settle: bool = True
    settle_tolerance_bytes: int = DEFAULT_TOLERANCE_BYTES
    settle_window_s: Optional[float] = None
    settle_interval_s: float = DEFAULT_INTERVAL_S
    gpu_baseline_bytes: Optional[int] = None
    ram_baseline_bytes: Optional[int] = None
    writeback_baseline_bytes: Optional[int] = None
    dds_shm_cleanup: bool = True
    shm_cleanup: bool = True
    verify_baseline: Optional[MemorySnapshot] = None
    verify_shm: Optional[ShmRecord] = None
    verify_since: str = 'before the run'
    verify_processes: Optional[Baseline] = field(default=None, compare=False)
    verify_tolerance_bytes: int = DEFAULT_VERIFY_TOLERANCE_BYTES
    teardown: Optional[Callable[[], StepResult]] = None
    stop: Optional[threading.Event] = field(default=None, compare=False)

    def __post_init__(self):
        for name in ('hooks_before', 'hooks_after'):
            hooks = getattr(self, name)
            if isinstance(hooks, str):
                raise ValueError(f'{name} must be a sequence of shell commands, not one string')
            hooks = tuple(hooks)
            if not all(isinstance(h, str) and h.strip() for h in hooks):
                raise ValueError(f'{name} must hold non-empty strings, got {hooks!r}')
            object.__setattr__(self, name, hooks)
        check_seconds('hook_timeout_s', self.hook_timeout_s, allow_zero=False)
        check_seconds('gpu_reset_timeout_s', self.gpu_reset_timeout_s, allow_zero=False)
        if self.settle_window_s is not None:
            check_seconds('settle_window_s', self.settle_window_s, allow_zero=False)
        check_seconds('settle_interval_s', self.settle_interval_s, allow_zero=False)
        check_int('settle_tolerance_bytes', self.settle_tolerance_bytes, 1)
        check_int('verify_tolerance_bytes', self.verify_tolerance_bytes, 0)
        for name in ('gpu_baseline_bytes', 'ram_baseline_bytes', 'writeback_baseline_bytes'):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name), 0)
        if self.teardown is not None and not callable(self.teardown):
            raise ValueError('teardown must be a callable returning a StepResult, or None')
