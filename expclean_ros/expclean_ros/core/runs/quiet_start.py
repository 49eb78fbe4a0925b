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
An optional quiet start: before a run, wait until the machine is quiet, up to a limit.

:func:`wait_quiet` watches windows of ``window_s`` seconds and judges each as a run's
disturbance is judged (:func:`.disturbance.judge`, every process counting as outside the
run): the first window under the thresholds ends the wait; past ``max_s`` the run starts
anyway, and the record says so. Other users' jobs may never stop, so this is off unless
asked for (``expclean run --quiet-start S``).
"""

import math
import time
from dataclasses import dataclass
from typing import Optional

from ..memory.attribution import Baseline
from .disturbance import PSI_ROOT, Pressure, Thresholds, judge

__all__ = ['QuietStart', 'wait_quiet', 'check_quiet_start']

DEFAULT_WINDOW_S = 0.5


@dataclass(frozen=True)
class QuietStart:
    """How the wait before a run ended: ``quiet`` or the limit passed, still ``cause``."""

    quiet: bool
    waited_s: float
    windows: int
    cause: str = ''

    def as_dict(self) -> dict:
        return {'quiet': self.quiet, 'waited_s': self.waited_s, 'windows': self.windows,
                'cause': self.cause}


def check_quiet_start(value) -> Optional[float]:
    """Return ``value`` as seconds to wait at most (None: off); ValueError when it is bad."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f'quiet start must be a number of seconds greater than zero, '
                         f'got {value!r}')
    return float(value)


def wait_quiet(max_s: float, thresholds: Optional[Thresholds] = None,
               pressure_root: str = PSI_ROOT,
               window_s: float = DEFAULT_WINDOW_S) -> QuietStart:
    """Wait until a window of ``window_s`` is under ``thresholds``, at most about ``max_s``."""
    start = time.monotonic()
    windows = 0
    while True:
        pressure, table = Pressure.read(pressure_root), Baseline.take()
        time.sleep(window_s)
        seen = judge(pressure, Pressure.read(pressure_root), table, Baseline.take(),
                     lambda row: False, thresholds)
        windows += 1
        waited = round(time.monotonic() - start, 3)
        if not seen.disturbed:
            return QuietStart(True, waited, windows)
        if waited >= max_s:
            return QuietStart(False, waited, windows, seen.cause)
