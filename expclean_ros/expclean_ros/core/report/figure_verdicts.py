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
Verdicts on the experiment's own figures (``figures`` in the ledger): spread, trend, outliers.

Per figure: its median, coefficient of variation and range; its trend over run order
(:mod:`.trend`) against a tolerance per run, a share of its median or an absolute value;
outlier runs by the rule the duration verdict uses; and, where runs were flagged disturbed,
whether they differ from the others. A run without the figure is left out, and named.
"""

import math
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from .fields import RunView
from .fit import median, outliers
from .trend import DRIFTS, OK, trend
from .verdicts import Verdict, needed

__all__ = ['figure_names', 'figure_verdicts', 'parse_tolerance', 'DEFAULT_FIGURE_SHARE']

#: A figure's default tolerance per run: this share of its median.
DEFAULT_FIGURE_SHARE = 0.01
_NAMED = 5


def parse_tolerance(text: str) -> Tuple[str, float]:
    """
    Return ``(name, value)`` of ``NAME=VALUE``; ValueError, saying why, for bad input.

    >>> parse_tolerance('fps=0.5')
    ('fps', 0.5)
    """
    name, sep, value = text.partition('=')
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not sep or not name.strip() or not number >= 0 or math.isinf(number):
        raise ValueError(f'--tolerance must be MiB or NAME=VALUE (a figure\'s tolerance per '
                         f'run, zero or more), got {text!r}')
    return name.strip(), number


def figure_names(runs: Sequence[RunView]) -> Tuple[str, ...]:
    """Return the figures any run has, in the order first seen."""
    names: Dict[str, None] = {}
    for r in runs:
        for name in r.figures:
            names.setdefault(name, None)
    return tuple(names)


def g(value: float) -> str:
    """Return a figure as a person reads it: four significant digits."""
    return f'{value:.4g}'


def _spread(name: str, have: List[RunView], lacking: List[RunView], prefix: str) -> Verdict:
    values = [r.figures[name] for r in have]
    m = median(values)
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) \
        if len(values) > 1 else 0.0
    cv = sd / abs(mean) if mean else None
    numbers = {'figure': name, 'runs': len(values), 'median': m, 'cv': cv, 'min': min(values),
               'max': max(values), 'left_out': [r.number for r in lacking]}
    cv_text = f'coefficient of variation {cv * 100:.1f} %' if cv is not None else 'mean 0'
    text = (f'{prefix}{name}: median {g(m)} over {len(values)} runs, {cv_text}, '
            f'from {g(min(values))} to {g(max(values))}')
    if lacking:
        named = ', '.join(str(r.number) for r in lacking[:_NAMED])
        more = f' and {len(lacking) - _NAMED} more' if len(lacking) > _NAMED else ''
        text += (f'; run{"s" if len(lacking) > 1 else ""} {named}{more} '
                 f'{"have" if len(lacking) > 1 else "has"} no {name} and '
                 f'{"are" if len(lacking) > 1 else "is"} left out')
    return Verdict('figure', 'info' if lacking else 'ok', text, numbers)


def _trend(name: str, have: List[RunView], tolerance: float, prefix: str) -> Verdict:
    got = trend([r.number for r in have], [r.figures[name] for r in have], tolerance)
    numbers = dict(got.numbers(), figure=name)
    fit = got.fit
    if fit is None:
        return Verdict('figure_drift', 'info', f'{prefix}{name}: too few runs to fit a trend '
                                               f'({len(have)}; at least 3 are needed)', numbers)
    stated = (f'slope {fit.slope:+.4g} per run, \u00b1{g(fit.half_width)} at 95 %; '
              f'tolerance {g(tolerance)} per run')
    if got.word == DRIFTS:
        way = 'rises' if fit.slope > 0 else 'falls'
        return Verdict('figure_drift', 'warn', f'{prefix}{name} drifts: it {way} '
                                               f'{g(abs(fit.slope))} per run over {fit.n} runs '
                                               f'({stated}); it depends on run order', numbers)
    if got.word == OK:
        return Verdict('figure_drift', 'ok', f'{prefix}{name} is ok: flat within '
                                             f'\u00b1{g(tolerance)} per run over {fit.n} runs '
                                             f'({stated})', numbers)
    return Verdict('figure_drift', 'info', f'{prefix}{name} is inconclusive over {fit.n} runs '
                                           f'({stated}); {needed(got.runs_needed)}', numbers)


def _outliers(name: str, have: List[RunView], prefix: str) -> Optional[Verdict]:
    values = [r.figures[name] for r in have]
    if len(values) < 5:
        return None
    found, m, mad = outliers(values, floor=0.2 * abs(median(values)))
    numbers = {'figure': name, 'median': m, 'mad': mad,
               'outliers': [have[i].number for i in found]}
    rule = (f'median {g(m)}, median absolute deviation {g(mad)}; an outlier lies more than '
            f'3.5 deviations and 20 % from the median')
    if not found:
        return Verdict('figure_outliers', 'ok', f'{prefix}no run is an outlier by {name} '
                                                f'({rule})', numbers)
    named = ', '.join(f'run {have[i].number} had {g(values[i])}' for i in found[:_NAMED])
    return Verdict('figure_outliers', 'warn', f'{prefix}{len(found)} outlier runs by {name}: '
                                              f'{named} ({rule})', numbers)


def _disturbed(name: str, have: List[RunView], tolerance: float,
               prefix: str) -> Optional[Verdict]:
    hit = [r for r in have if r.disturbed]
    calm = [r for r in have if r.disturbed is False]
    if not hit or not calm:
        return None
    m_hit, m_calm = median([r.figures[name] for r in hit]), median([r.figures[name] for r in calm])
    mad = median([abs(r.figures[name] - m_calm) for r in calm])
    bound = max(3 * 1.4826 * mad, tolerance)
    differ = abs(m_hit - m_calm) > bound
    numbers = {'figure': name, 'disturbed': [r.number for r in hit], 'median_disturbed': m_hit,
               'median_others': m_calm, 'bound': bound, 'differ': differ}
    runs = ', '.join(str(r.number) for r in hit[:_NAMED]) + (' ...' if len(hit) > _NAMED else '')
    says = 'differ' if differ else 'do not differ'
    return Verdict('figure_disturbed', 'warn' if differ else 'ok',
                   f'{prefix}the disturbed runs ({runs}) {says} in {name}: median {g(m_hit)} '
                   f'against {g(m_calm)} for the {len(calm)} others (a difference beyond '
                   f'{g(bound)} counts)', numbers)


def figure_verdicts(runs: Sequence[RunView], prefix: str = '', *,
                    share: float = DEFAULT_FIGURE_SHARE,
                    tolerances: Optional[Mapping[str, float]] = None) -> List[Verdict]:
    """Return the verdicts on every figure of ``runs`` (one machine's runs, in order)."""
    out: List[Verdict] = []
    for name in figure_names(runs):
        have = [r for r in runs if name in r.figures]
        lacking = [r for r in runs if name not in r.figures]
        m = median([r.figures[name] for r in have])
        tolerance = (tolerances or {}).get(name, share * abs(m))
        out.append(_spread(name, have, lacking, prefix))
        out.append(_trend(name, have, tolerance, prefix))
        out += [v for v in (_outliers(name, have, prefix),
                            _disturbed(name, have, tolerance, prefix)) if v is not None]
    return out
