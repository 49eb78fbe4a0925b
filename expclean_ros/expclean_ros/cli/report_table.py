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
The report page's per-run tables (one row per run) and each run's details, as sentences.

The run table holds the columns that matter and fits a 1200 px window; every column, memory at
each moment included, is one click away in the table behind "All columns". The time between
runs (teardown, cleanup, settling) is ``between s``; the cleanup inside it is ``cleanup s``: the
words ``expclean run`` uses.
"""

from html import escape

from expclean_ros.core.report.fields import MOMENTS
from expclean_ros.core.runs.run_record import Back
from expclean_ros.core.units import DASH, seconds, size

__all__ = ['run_table', 'all_columns', 'run_details']

_SHORT = {'sigint': 'INT', 'sigterm': 'TERM', 'sigkill': 'KILL', 'left': 'left'}
_MOMENT_HEAD = {'before': 'before', 'peak': 'peak', 'after_teardown': 'after td',
                'after': 'after cl'}
_LEFT = {'ledger', 'host', 'row', 'status', 'back at level', 'disturbed'}
_TITLES = {'between s': 'time between runs: teardown, cleanup and settling',
           'cleanup s': 'the cleanup plan, inside the time between runs',
           'after cl': 'after the cleanup between runs', 'after td': 'after the teardown'}
_FIGURES_SHOWN = 4  # figure columns in the run table; all of them in "All columns"


def _stopped(run):
    parts = [f'{n} {_SHORT[s]}' for s, n in run.stages.items() if n and s != 'left']
    return ', '.join(parts) if parts else ('0' if run.stages or run.processes == () else DASH)


def _has_details(run, back):
    return bool(run.processes or run.leftovers or back is False or run.status != 'ok'
                or run.disturbed)


def _figure(run, name):
    value = run.figures.get(name)
    return DASH if value is None else f'{value:.4g}'


def _disturbed(run):
    return DASH if run.disturbed is None else ('yes' if run.disturbed else 'no')


def _columns(report, full):
    """(heading, cell of a run and its (back, why)) of a table."""
    several = len(report.ledgers) > 1
    cols = [('ledger', lambda r, b: escape(r.ledger)), ('host', lambda r, b: escape(r.host))] \
        if several else []
    cols += [('run', lambda r, b: str(r.number)),
             ('row', lambda r, b: escape(' '.join(f'{k}={v}' for k, v in r.row.items())[:80])),
             ('status', lambda r, b: escape(r.status)),
             ('exit', lambda r, b: DASH if r.exit_code is None else str(r.exit_code)),
             ('run s', lambda r, b: seconds(r.duration_s)),
             ('between s', lambda r, b: seconds(r.between_s))]
    names = report.summary['figures'] if full else report.summary['figures'][:_FIGURES_SHOWN]
    cols += [(n, lambda r, b, n=n: _figure(r, n)) for n in names]
    if full:
        cols.append(('cleanup s', lambda r, b: seconds(r.cleanup_s)))
    for resource in report.resources if full else report.resources[:1]:
        for k, _ in MOMENTS if full else (('before', ''), ('peak', ''), ('after', '')):
            cols.append((f'{resource} {_MOMENT_HEAD[k]}',
                         lambda r, b, res=resource, k=k: size(r.memory.get(res, {}).get(k))))
    if full:
        cols.append(('stopped', lambda r, b: _stopped(r)))
    cols.append(('left', lambda r, b: str(_left(r)) if r.stages or r.leftovers else DASH))
    cols.append(('back at level', lambda r, b: escape(Back(*b).text(DASH, short=not full))))
    if any(r.disturbed is not None for r in report.runs):
        cols.append(('disturbed', lambda r, b: _disturbed(r)))
    return cols


def _left(run):
    return run.stages.get('left', 0) + len(run.leftovers)


def _th(head):
    title = _TITLES.get(head) or next((t for k, t in _TITLES.items() if head.endswith(k)), '')
    cls = ' class="l"' if head in _LEFT else ''
    tip = f' title="{escape(title)}"' if title else ''
    return f'<th{cls}{tip}>{escape(head)}</th>'


def _table(report, full, ids):
    cols = _columns(report, full)
    rows = []
    for pos, (run, back) in enumerate(zip(report.runs, report.back), 1):
        name = f'<a href="#d{pos}">{pos}</a>' if _has_details(run, back[0]) else str(pos)
        cells = [f'<td>{name}</td>']
        for head, cell in cols:
            cls = ' class="l w"' if head == 'row' else (' class="l"' if head in _LEFT else '')
            cells.append(f'<td{cls}>{cell(run, back)}</td>')
        bad = run.status != 'ok' or _left(run) or back[0] is False
        row_id = f' id="r{pos}"' if ids else ''
        rows.append(f'<tr{row_id}{" class=bad" if bad else ""}>{"".join(cells)}</tr>')
    table_id, body_id = ((' id="run-table"', ' id="run-rows"') if ids else ('', ''))
    ths = '<th>#</th>' + ''.join(_th(h) for h, _ in cols)
    return (f'<table class="sortable"{table_id}><thead><tr>{ths}</tr></thead>'
            f'<tbody{body_id}>{"".join(rows)}</tbody></table>')


def run_table(report):
    """Return the run table: the columns that matter, one row per run."""
    return f'<div class="wide">{_table(report, False, True)}</div>'


def all_columns(report):
    """Return every column of every run, behind a click."""
    return ('<details id="all-columns"><summary>All columns: memory at each moment, the '
            'cleanup inside the time between runs, processes stopped, every figure</summary>'
            f'<div class="wide">{_table(report, True, False)}</div></details>')


def _sentences(run, back, why):
    said = {'ok': 'It ended by itself', 'failed': 'It failed',
            'timed_out': 'It ran past its timeout', 'error': 'It did not run'}
    items = [f'{said.get(run.status, "It ended " + escape(run.status))} '
             f'({escape(run.detail or DASH)}). Its run tag is '
             f'<code>{escape(run.run_id or DASH)}</code>.']
    items += [f'<code>{escape(label)}</code> was stopped at {escape(stage.upper())}.'
              if stage != 'left' else f'<code>{escape(label)}</code> could not be stopped.'
              for label, stage in run.processes]
    items += [f'<code>{escape(label)}</code> was still running after the teardown.'
              for label in run.leftovers]
    if back is not None:
        source = 'verified by the runner' if run.verified else "judged from the ledger's figures"
        items.append(f'It came back to its level before the run ({source}).' if back else
                     f'It did not come back to its level before the run ({source}): '
                     f'{escape(why)}.')
    if run.disturbed:
        items.append(f'It was disturbed: {escape(run.disturbed_cause or "flagged by the runner")}'
                     '; distrust its figures.')
    if run.figures:
        items.append('Its figures: ' + ', '.join(f'{escape(k)} {v:.4g}'
                                                 for k, v in run.figures.items()) + '.')
    return items


def run_details(report):
    """Return, per run worth a look, what happened to it in sentences."""
    several = len(report.ledgers) > 1
    out = []
    for pos, (run, (back, why)) in enumerate(zip(report.runs, report.back), 1):
        if not _has_details(run, back):
            continue
        items = ''.join(f'<li>{s}</li>' for s in _sentences(run, back, why))
        where = f' of {escape(run.ledger)}' if several else ''
        out.append(f'<details id="d{pos}"><summary>Run {run.number}{where}: '
                   f'{escape(run.status)} (<a href="#r{pos}">its row</a>)</summary>'
                   f'<ul>{items}</ul></details>')
    return ''.join(out) or '<p class="none">No run has details beyond its row.</p>'
