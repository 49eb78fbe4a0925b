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

"""A straight line through the runs, with the 95 % interval of its slope; robust outliers."""

import math
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

__all__ = ['Fit', 'fit_line', 'median', 'outliers', 't95']

# Student's t, two-sided 95 %, by degrees of freedom (the next lower entry is used between
# rows: a slightly wider interval, never a narrower one).
_T95 = ((1, 12.706), (2, 4.303), (3, 3.182), (4, 2.776), (5, 2.571), (6, 2.447), (7, 2.365),
        (8, 2.306), (9, 2.262), (10, 2.228), (12, 2.179), (15, 2.131), (20, 2.086),
        (25, 2.060), (30, 2.042), (40, 2.021), (60, 2.000), (120, 1.980))


def t95(df: int) -> float:
    """Return Student's t, two-sided 95 %, at ``df`` degrees of freedom."""
    value = _T95[0][1]
    for d, t in _T95:
        if d <= df:
            value = t
    return value if df <= 120 else 1.960


@dataclass(frozen=True)
class Fit:
    """``y = intercept + slope * x``; ``slope +- half_width`` is its 95 % interval."""

    slope: float
    intercept: float
    half_width: float
    n: int

    @property
    def excludes_zero(self) -> bool:
        return abs(self.slope) > self.half_width


def fit_line(xs: Sequence[float], ys: Sequence[float]) -> Optional[Fit]:
    """
    Least squares through ``(xs, ys)``; None below 3 points or with one x only.

    >>> f = fit_line([1, 2, 3, 4], [10, 12, 14, 16])
    >>> (f.slope, f.intercept, f.half_width)
    (2.0, 8.0, 0.0)
    """
    n = len(xs)
    if n < 3 or n != len(ys):
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    intercept = my - slope * mx
    ssr = sum((y - intercept - slope * x) ** 2 for x, y in zip(xs, ys))
    se = math.sqrt(ssr / (n - 2) / sxx)
    return Fit(slope, intercept, t95(n - 2) * se, n)


def median(values: Sequence[float]) -> float:
    s = sorted(values)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def outliers(values: Sequence[float], *, limit: float = 3.5, floor: float = 0.0
             ) -> Tuple[List[int], float, float]:
    """
    Return the outliers' positions, the median and the MAD.

    An outlier's modified z-score (by the median absolute deviation) is above ``limit``, and it
    lies more than ``floor`` from the median.

    >>> outliers([1.0, 1.1, 0.9, 1.0, 1.05, 9.0])[0]
    [5]
    """
    if len(values) < 5:
        return [], median(values) if values else 0.0, 0.0
    m = median(values)
    mad = median([abs(v - m) for v in values])
    scale = 1.4826 * mad
    found = [i for i, v in enumerate(values)
             if abs(v - m) > floor and (scale == 0 or abs(v - m) / scale > limit)]
    return found, m, mad
