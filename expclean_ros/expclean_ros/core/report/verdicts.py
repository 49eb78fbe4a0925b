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
The report's verdicts, each a sentence with the numbers behind it.

Drift (a fitted slope of memory after cleanup per run, with its 95 % interval),
runs not back at their level, processes that outlived their run's command, and
outlier runs by duration.
"""

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from .fields import RunView
from .fit import median, outliers
from .trend import DRIFTS, OK, trend
from ..units import MIB, seconds, signed_size, size

__all__ = ['Verdict', 'drift', 'not_back', 'escaped', 'slow_runs', 'excess', 'judged',
           'DEFAULT_DRIFT_TOLERANCE', 'DEFAULT_LEVEL_TOLERANCE', 'needed']

DEFAULT_DRIFT_TOLERANCE = 1 * MIB   # per run: a slope below it is flat
DEFAULT_LEVEL_TOLERANCE = 32 * MIB  # above the level before the run: not back (as the runner)
_NAMED = 5
_STILL = 'still running after the run'
_STAGE_WORDS = {'sigint': 'SIGINT', 'sigterm': 'SIGTERM', 'sigkill': 'SIGKILL',
                'left': 'not stopped (left running)'}


@dataclass(frozen=True)
class Verdict:
    """``level``: ``ok`` | ``warn`` | ``info``; ``numbers``: the figures the text states."""

    kind: str
    level: str
    text: str
    numbers: Dict[str, object] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {'kind': self.kind, 'level': self.level, 'text': self.text,
                'numbers': dict(self.numbers)}


def drift(runs: Sequence[RunView], resource: str, prefix: str = '',
          tolerance: float = DEFAULT_DRIFT_TOLERANCE) -> Verdict:
    """Slope of ``resource`` after cleanup over ``runs`` (one machine's runs, in order)."""
    points = [(r.number, r.memory.get(resource, {}).get('after')) for r in runs]
    points = [(x, y) for x, y in points if y is not None]
    what = f'{prefix}{resource} after cleanup'
    judged_trend = trend([x for x, _ in points], [y for _, y in points], tolerance)
    fit = judged_trend.fit
    if fit is None:
        return Verdict('drift', 'info', f'{what}: too few runs to fit a drift '
                                        f'({len(points)}; at least 3 are needed)',
                       {'resource': resource, 'runs': len(points), 'trend': None})
    numbers = {'resource': resource, 'runs': fit.n, 'slope_bytes_per_run': fit.slope,
               'interval_bytes': fit.half_width, 'tolerance_bytes_per_run': tolerance,
               'confidence': 0.95, 'trend': judged_trend.word,
               'runs_needed': judged_trend.runs_needed}
    per = f'per run over {fit.n} runs (\u00b1{size(fit.half_width)}, 95 %)'
    if judged_trend.word == DRIFTS:
        if fit.slope > 0:
            return Verdict('drift', 'warn', f'{what} rises {size(fit.slope)} {per}', numbers)
        return Verdict('drift', 'info', f'{what} falls {size(-fit.slope)} {per}', numbers)
    stated = (f'slope {signed_size(fit.slope)}, \u00b1{size(fit.half_width)} at 95 %; '
              f'tolerance {size(tolerance)} per run')
    if judged_trend.word == OK:
        return Verdict('drift', 'ok', f'{what} is flat within \u00b1{size(tolerance)} per run '
                                      f'over {fit.n} runs ({stated})', numbers)
    return Verdict('drift', 'info', f'{what}: inconclusive over {fit.n} runs ({stated}); '
                                    f'{needed(judged_trend.runs_needed)}', numbers)


def needed(runs: Optional[int]) -> str:
    """Say how many runs would decide an inconclusive trend."""
    if runs is None:
        return 'the slope lies at the tolerance: no number of runs would decide it'
    return f'about {runs} runs would decide it at this noise'


def excess(run: RunView, tolerance: float = DEFAULT_LEVEL_TOLERANCE) -> Dict[str, float]:
    """Resource -> bytes above the level before the run, where above ``tolerance``."""
    out = {}
    for resource, points in run.memory.items():
        before, after = points.get('before'), points.get('after')
        if before is not None and after is not None and after - before > tolerance:
            out[resource] = after - before
    return out


def judged(run: RunView, tolerance: float = DEFAULT_LEVEL_TOLERANCE):
    """(back, why) for one run: the runner's verdict where it gave one, else the figures."""
    if run.back is not None:
        return run.back, run.back_line or ('back' if run.back else 'not back')
    above = excess(run, tolerance)
    if not above:
        return (None, '') if not run.memory else (True, '')
    return False, ', '.join(f'{k} {signed_size(v)}' for k, v in above.items()) + \
        ' above the level before the run'


def not_back(runs: Sequence[RunView], tolerance: float = DEFAULT_LEVEL_TOLERANCE,
             several: bool = False) -> Verdict:
    """Which runs did not come back to their level before the run."""
    judged_runs = [(r, *judged(r, tolerance)) for r in runs]
    bad = [(r, why) for r, back, why in judged_runs if back is False]
    verified = sum(1 for r in runs if r.back is not None)
    unknown = sum(1 for _, back, _ in judged_runs if back is None)
    numbers = {'runs': len(runs), 'not_back': [r.number for r, _ in bad],
               'verified_by_runner': verified, 'judged_from_figures': len(runs) - verified,
               'unknown': unknown, 'tolerance_bytes': tolerance}
    how = (f'{verified} verified by the runner, {len(runs) - verified - unknown} judged from the '
           f'ledger\'s before/after figures within {size(tolerance)}'
           + (f', {unknown} without figures' if unknown else ''))
    if not bad:
        return Verdict('not_back', 'ok' if not unknown else 'info',
                       f'{len(runs) - unknown} of {len(runs)} runs came back to their level '
                       f'before the run ({how})', numbers)
    named = '; '.join(f'run {r.number}{_where(r, several)}: {why}' for r, why in bad[:_NAMED])
    more = f'; and {len(bad) - _NAMED} more' if len(bad) > _NAMED else ''
    return Verdict('not_back', 'warn', f'{len(bad)} of {len(runs)} runs did not come back to '
                                       f'their level before the run ({how}): {named}{more}',
                   numbers)


def _where(run: RunView, several: bool) -> str:
    return f' of {run.ledger}' if several else ''


def escaped(runs: Sequence[RunView], prefix: str = '') -> List[Verdict]:
    """Process still alive when their run's command had exited, named and counted."""
    ended = [r for r in runs if r.status in ('ok', 'failed')]
    groups: Dict[str, Dict[str, object]] = {}
    for r in ended:
        for label, stage in r.processes:
            g = groups.setdefault(label, {'runs': set(), 'stages': {}})
            g['runs'].add((r.ledger, r.index))
            g['stages'][stage] = g['stages'].get(stage, 0) + 1
        for label in r.leftovers:
            g = groups.setdefault(label, {'runs': set(), 'stages': {}})
            g['runs'].add((r.ledger, r.index))
            g['stages'][_STILL] = g['stages'].get(_STILL, 0) + 1
    if not groups:
        return [Verdict('escaped', 'ok', f'{prefix}no process outlived its run\'s command '
                                         f'({len(ended)} runs that exited by themselves)',
                        {'runs': len(ended)})]
    out = []
    for label, g in sorted(groups.items(), key=lambda kv: -len(kv[1]['runs'])):
        stages = ', '.join(f'{_STAGE_WORDS.get(s, s)} ({n})' for s, n in g['stages'].items())
        bad = any(s not in ('sigint', 'sigterm', 'sigkill') for s in g['stages'])
        stopped = 'stopped at ' if any(s in _STAGE_WORDS for s in g['stages']) else ''
        out.append(Verdict('escaped', 'warn',
                           f'{prefix}`{label}` outlived its run\'s command in {len(g["runs"])} of '
                           f'{len(ended)} runs; {stopped}{stages}',
                           {'process': label, 'runs': len(g['runs']), 'of': len(ended),
                            'stages': dict(g['stages']), 'left_running': bad}))
    return out


def slow_runs(runs: Sequence[RunView], several: bool = False) -> Verdict:
    """Run whose duration lies far from the others' (median absolute deviation)."""
    timed = [r for r in runs if r.duration_s is not None]
    values = [r.duration_s for r in timed]
    if len(values) < 5:
        return Verdict('outliers', 'info', f'too few runs to judge outliers by duration '
                                           f'({len(values)}; at least 5)', {'runs': len(values)})
    found, m, mad = outliers(values, floor=max(0.1, 0.2 * median(values)))
    numbers = {'runs': len(values), 'median_s': m, 'mad_s': mad,
               'outliers': [timed[i].number for i in found]}
    rule = (f'median {seconds(m)}, median absolute deviation {seconds(mad)}; an outlier lies '
            f'more than 3.5 deviations and 20 % from the median')
    if not found:
        return Verdict('outliers', 'ok', f'no run is an outlier by duration ({rule})', numbers)
    named = ', '.join(f'run {timed[i].number}{_where(timed[i], several)} took {seconds(values[i])}'
                      f' ({timed[i].status})' for i in found[:_NAMED])
    more = f' and {len(found) - _NAMED} more' if len(found) > _NAMED else ''
    return Verdict('outliers', 'warn', f'{len(found)} outlier runs by duration: {named}{more} '
                                       f'({rule})', numbers)
