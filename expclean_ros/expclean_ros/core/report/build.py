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
A batch report from one or more ledgers: the runs, a summary, the verdicts.

:func:`build_report` reads each ledger (read-only), turns every usable run
line into a :class:`~.fields.RunView` and judges them. Nothing here renders:
the HTML page, ``--text`` and ``--json`` all show the same :class:`Report`.
"""

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from .fields import MOMENTS, RunView, run_view
from .figure_verdicts import DEFAULT_FIGURE_SHARE, figure_names, figure_verdicts
from .source import LedgerFile, read_for_report
from .verdicts import (DEFAULT_DRIFT_TOLERANCE, DEFAULT_LEVEL_TOLERANCE, Verdict, drift,
                       escaped, judged, not_back, slow_runs)

__all__ = ['Report', 'build_report', 'STATUSES']

STATUSES = ('ok', 'failed', 'timed_out', 'error')
_RESOURCE_ORDER = {'RAM': 0, '/dev/shm': 1, 'swap': 2}


@dataclass(frozen=True)
class Report:
    """
    Everything a report shows; every figure comes from the ledgers' lines.

    :param missing: ledger field -> the runs (``label#number``) whose line lacks it.
    :param back: per run, (back at its level before the run: True, False or None for
        no figures, why), by the runner's verification or else the ledger's figures.
    """

    ledgers: Tuple[LedgerFile, ...]
    runs: Tuple[RunView, ...]
    resources: Tuple[str, ...]
    summary: Dict[str, object]
    verdicts: Tuple[Verdict, ...]
    missing: Dict[str, Tuple[str, ...]]
    back: Tuple[Tuple[Optional[bool], str], ...] = ()

    def series(self, resource: str) -> Dict[str, List[Optional[float]]]:
        """Moment (``before``, ``peak``, ...) -> bytes of ``resource`` per run, report order."""
        return {key: [r.memory.get(resource, {}).get(key) for r in self.runs]
                for key, _ in MOMENTS}

    def as_dict(self) -> dict:
        """Summary, verdicts, skipped lines and the runs' figures, for ``--json``."""
        return {
            'summary': self.summary,
            'verdicts': [v.as_dict() for v in self.verdicts],
            'ledgers': [{'path': f.path, 'label': f.label, 'host': f.host,
                         'table': f.header.get('table'), 'runs': len(f.runs),
                         'interrupted': [i + 1 for i in f.interrupted],
                         'skipped': [{'line': n, 'why': why} for n, why in f.skipped],
                         'notes': list(f.notes)} for f in self.ledgers],
            'missing_fields': {k: list(v) for k, v in self.missing.items()},
            'runs': [{'ledger': r.ledger, 'host': r.host, 'run': r.number, 'status': r.status,
                      'exit_code': r.exit_code, 'duration_s': r.duration_s,
                      'between_s': r.between_s, 'memory': r.memory, 'stopped': r.stages,
                      'leftovers': list(r.leftovers), 'back': back, 'back_why': why,
                      'figures': r.figures, 'disturbed': r.disturbed}
                     for r, (back, why) in zip(self.runs, self.back)],
        }


def _resources(runs: Sequence[RunView]) -> Tuple[str, ...]:
    found = set()
    for r in runs:
        for resource, points in r.memory.items():
            if resource != 'swap' or any(v for v in points.values()):
                found.add(resource)
    return tuple(sorted(found, key=lambda k: (_RESOURCE_ORDER.get(k, 3), k)))


def _last(run: RunView, ledgers: Sequence[LedgerFile]) -> bool:
    """Return whether ``run`` is its table's last: the original script waits after no other."""
    total = next((f.header.get('total_runs') for f in ledgers if f.label == run.ledger), None)
    return isinstance(total, int) and run.index + 1 >= total


def _fixed_waits_s(runs: Sequence[RunView], ledgers: Sequence[LedgerFile]) -> float:
    """
    Return what the original script's fixed waits (10-30 s or 5-15 s) would have cost.

    It waits between runs: after every run but the table's last.
    """
    from ..cleanup.plans import auto_cap
    totals = {f.label: f.header.get('total_runs') for f in ledgers}
    wait = 0.0
    for r in runs:
        if _last(r, ledgers):
            continue
        total = totals.get(r.ledger)
        wait += auto_cap(total if isinstance(total, int) and total > 0 else 1,
                         comprehensive=r.plan != 'quick')
    return wait


def _summary(runs: Sequence[RunView], ledgers: Sequence[LedgerFile]) -> Dict[str, object]:
    counts = {s: sum(1 for r in runs if r.status == s) for s in STATUSES}
    other = len(runs) - sum(counts.values())
    starts = [at for f in ledgers for at in f.started_at.values()]
    ends = [r.finished_at for r in runs if r.finished_at is not None]
    between = [r.between_s for r in runs if r.between_s is not None]
    return {
        'runs': len(runs), **counts, 'other_status': other,
        'interrupted': sum(len(f.interrupted) for f in ledgers),
        'ledgers': len(ledgers), 'hosts': sorted({f.host for f in ledgers}),
        'tables': sorted({str(f.header.get('table')) for f in ledgers}),
        'run_s': sum(r.duration_s for r in runs if r.duration_s is not None),
        'between_runs_s': sum(between),
        'wall_s': (max(ends) - min(starts)) if starts and ends else None,
        'fixed_waits_s': _fixed_waits_s(runs, ledgers),
        'fixed_waits': sum(1 for r in runs if not _last(r, ledgers)),
        'processes_stopped': sum(n for r in runs for s, n in r.stages.items() if s != 'left'),
        'processes_left': sum(r.stages.get('left', 0) + len(r.leftovers) for r in runs),
        'skipped_lines': sum(len(f.skipped) for f in ledgers),
        'figures': list(figure_names(runs)),
    }


def _missing(runs: Sequence[RunView], several: bool) -> Dict[str, Tuple[str, ...]]:
    out: Dict[str, List[str]] = {}
    for r in runs:
        for name in r.missing:
            out.setdefault(name, []).append(f'{r.ledger} run {r.number}' if several
                                            else f'run {r.number}')
    return {k: tuple(v) for k, v in out.items()}


def build_report(paths: Sequence[str], labels: Sequence[str] = (), *,
                 drift_tolerance: float = DEFAULT_DRIFT_TOLERANCE,
                 level_tolerance: float = DEFAULT_LEVEL_TOLERANCE,
                 figure_share: float = DEFAULT_FIGURE_SHARE,
                 figure_tolerances: Optional[Dict[str, float]] = None) -> Report:
    """
    Read ``paths`` (ledgers) and judge their runs; ``labels`` name them, in order.

    A figure's tolerance per run is ``figure_tolerances[name]``, else ``figure_share`` of its
    median.

    :raises ValueError: no ledger, more labels than ledgers, a file that is not a
        ledger, or no finished run in any of them.
    """
    if not paths:
        raise ValueError('give at least one ledger')
    if len(labels) > len(paths):
        raise ValueError(f'{len(labels)} labels for {len(paths)} ledgers: give at most one '
                         f'--label per ledger, in the same order')
    names = list(labels) + [None] * (len(paths) - len(labels))
    ledgers = [read_for_report(p, name) for p, name in zip(paths, names)]
    seen: Dict[str, int] = {}
    for i, f in enumerate(ledgers):  # two shards named alike get their ledger's position
        if f.label in seen:
            ledgers[i] = LedgerFile(**{**f.__dict__, 'label': f'{f.label}#{i + 1}'})
        seen[f.label] = i
    if not any(f.runs for f in ledgers):
        raise ValueError('no finished run in ' + ', '.join(f.path for f in ledgers)
                         + (': ' + '; '.join(f'line {n}: {why}' for f in ledgers
                                             for n, why in f.skipped[:3])
                            if any(f.skipped for f in ledgers) else ''))
    several = len(ledgers) > 1
    per_ledger = [(f, [run_view(rec, f.label, f.host) for rec in f.runs]) for f in ledgers]
    runs = [r for _, views in per_ledger for r in views]
    resources = _resources(runs)
    unknown = sorted(set(figure_tolerances or ()) - set(figure_names(runs)))
    if unknown:
        raise ValueError(f'--tolerance for {", ".join(unknown)}: no run has such a figure '
                         f'(figures: {", ".join(figure_names(runs)) or "none"})')
    verdicts: List[Verdict] = []
    for f, views in per_ledger:
        prefix = f'{f.label} ({f.host}): ' if several else ''
        verdicts += [drift(views, res, prefix, drift_tolerance) for res in _resources(views)]
        verdicts += figure_verdicts(views, prefix, share=figure_share,
                                    tolerances=figure_tolerances)
    verdicts.append(not_back(runs, level_tolerance, several))
    for f, views in per_ledger:  # what escaped, per ledger: one way of running, one machine
        verdicts += escaped(views, f'{f.label} ({f.host}): ' if several else '')
    verdicts.append(slow_runs(runs, several))
    return Report(tuple(ledgers), tuple(runs), resources, _summary(runs, ledgers),
                  tuple(verdicts), _missing(runs, several),
                  tuple(judged(r, level_tolerance) for r in runs))
