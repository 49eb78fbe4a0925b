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
Whether a quantity depends on run order: ``ok``, ``drifts`` or ``inconclusive``.

A straight line is fitted over run order (:func:`.fit.fit_line`). ``ok``: the slope's 95 %
interval lies within the tolerance; ``drifts``: the interval excludes zero by more than the
tolerance; ``inconclusive`` otherwise, with about how many runs would decide it at the
observed noise (the interval narrows as the runs grow, the residual noise staying the same).
"""

import math
from dataclasses import dataclass
from typing import Optional, Sequence

from .fit import Fit, t95, fit_line

__all__ = ['Trend', 'trend', 'runs_to_decide', 'OK', 'DRIFTS', 'INCONCLUSIVE']

OK, DRIFTS, INCONCLUSIVE = 'ok', 'drifts', 'inconclusive'
_MOST = 100000  # beyond this many runs: no number of runs would decide it


@dataclass(frozen=True)
class Trend:
    """``word``: ok | drifts | inconclusive (None: too few runs to fit)."""

    word: Optional[str]
    fit: Optional[Fit]
    tolerance: float
    runs_needed: Optional[int] = None

    @property
    def rising(self) -> bool:
        return self.fit is not None and self.fit.slope > 0

    def numbers(self) -> dict:
        """Return the figures behind the word, for ``--json``."""
        if self.fit is None:
            return {'trend': None}
        return {'trend': self.word, 'runs': self.fit.n, 'slope_per_run': self.fit.slope,
                'interval': self.fit.half_width, 'tolerance_per_run': self.tolerance,
                'confidence': 0.95, 'runs_needed': self.runs_needed}


def _sxx(n: int) -> float:
    """Sum of squared deviations of the run numbers 1..n from their mean."""
    return n * (n * n - 1) / 12.0


def runs_to_decide(fit: Fit, tolerance: float) -> Optional[int]:
    """
    Return about how many evenly spaced runs would make the interval decide, or None: none would.

    The interval must shrink to the distance between the slope and the tolerance.

    >>> runs_to_decide(Fit(0.0, 0.0, 4.0, 5), 1.0) > 5
    True
    """
    margin = abs(abs(fit.slope) - tolerance)
    if fit.n < 3 or margin <= 0:
        return None
    noise = fit.half_width / t95(fit.n - 2) * math.sqrt(_sxx(fit.n))  # residual std. dev.
    n = fit.n
    while n <= _MOST:
        if t95(n - 2) * noise / math.sqrt(_sxx(n)) < margin:
            return n
        n = n + 1 if n < 100 else int(n * 1.1)
    return None


def trend(xs: Sequence[float], ys: Sequence[float], tolerance: float) -> Trend:
    """
    Judge the slope of ``ys`` over run numbers ``xs`` against ``tolerance`` per run.

    >>> trend([1, 2, 3, 4], [10, 12, 14, 16], 0.5).word
    'drifts'
    >>> trend([1, 2, 3, 4], [10, 10, 10, 10], 0.5).word
    'ok'
    """
    fit = fit_line(xs, ys)
    if fit is None:
        return Trend(None, None, tolerance)
    if abs(fit.slope) + fit.half_width <= tolerance:
        return Trend(OK, fit, tolerance)
    if abs(fit.slope) - fit.half_width > tolerance:
        return Trend(DRIFTS, fit, tolerance)
    return Trend(INCONCLUSIVE, fit, tolerance, runs_to_decide(fit, tolerance))
