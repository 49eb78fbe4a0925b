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

"""The report page's per-run table (one row per run) and each run's details."""

from html import escape

from expclean_ros.core.report.fields import MOMENTS
from expclean_ros.core.runs.run_record import Back
from expclean_ros.core.units import DASH, seconds, size

__all__ = ['run_table', 'run_details']

_SHORT = {'sigint': 'INT', 'sigterm': 'TERM', 'sigkill': 'KILL', 'left': 'left'}
_MOMENT_HEAD = {'before': 'before', 'peak': 'peak', 'after_teardown': 'after td',
                'after': 'after cl'}


def _stopped(run):
    parts = [f'{n} {_SHORT[s]}' for s, n in run.stages.items() if n and s != 'left']
    return ', '.join(parts) if parts else ('0' if run.stages or run.processes == () else DASH)


def _has_details(run, back):
    return bool(run.processes or run.leftovers or back is False or run.status != 'ok')


def run_table(report):
    several = len(report.ledgers) > 1
    head = ['#'] + (['ledger', 'host'] if several else []) + [
        'run', 'row', 'status', 'exit', 'run s', 'between s', 'cleanup s']
    for resource in report.resources:
        head += [f'{resource} {_MOMENT_HEAD[k]}' for k, _ in MOMENTS]
    head += ['stopped', 'left', 'back at level']
    left_cols = {'ledger', 'host', 'row', 'status', 'back at level'}
    rows = []
    for pos, (run, (back, why)) in enumerate(zip(report.runs, report.back), 1):
        name = f'<a href="#d{pos}">{pos}</a>' if _has_details(run, back) else str(pos)
        cells = [name] + ([escape(run.ledger), escape(run.host)] if several else []) + [
            str(run.number),
            escape(' '.join(f'{k}={v}' for k, v in run.row.items())[:80]),
            escape(run.status), DASH if run.exit_code is None else str(run.exit_code),
            seconds(run.duration_s), seconds(run.between_s), seconds(run.cleanup_s)]
        for resource in report.resources:
            points = run.memory.get(resource, {})
            cells += [size(points.get(k)) for k, _ in MOMENTS]
        left = run.stages.get('left', 0) + len(run.leftovers)
        cells += [_stopped(run), str(left) if run.stages or run.leftovers else DASH,
                  escape(Back(back, why).text(DASH))]
        bad = run.status != 'ok' or left or back is False
        tds = ''.join(f'<td class="l">{c}</td>' if h in left_cols else f'<td>{c}</td>'
                      for h, c in zip(head, cells))
        rows.append(f'<tr id="r{pos}"{" class=bad" if bad else ""}>{tds}</tr>')
    ths = ''.join(f'<th class="l">{escape(h)}</th>' if h in left_cols else
                  f'<th>{escape(h)}</th>' for h in head)
    return (f'<div class="wide"><table class="sortable" id="run-table"><thead><tr>{ths}</tr>'
            f'</thead><tbody id="run-rows">{"".join(rows)}</tbody></table></div>')


def run_details(report):
    out = []
    for pos, (run, (back, why)) in enumerate(zip(report.runs, report.back), 1):
        if not _has_details(run, back):
            continue
        items = [f'<li>status {escape(run.status)}: {escape(run.detail or DASH)}; run id '
                 f'<code>{escape(run.run_id or DASH)}</code></li>']
        items += [f'<li>stopped at {escape(stage)}: <code>{escape(label)}</code></li>'
                  for label, stage in run.processes]
        items += [f'<li>still running after teardown: <code>{escape(label)}</code></li>'
                  for label in run.leftovers]
        if back is not None:
            source = 'verified by the runner' if run.verified else "from the ledger's figures"
            items.append(f'<li>back at its level before the run: '
                         f'{escape(Back(back, why).text(DASH))} ({source})</li>')
        out.append(f'<details id="d{pos}"><summary>run {pos}: {escape(run.ledger)} run '
                   f'{run.number}, {escape(run.status)} '
                   f'(<a href="#r{pos}">row</a>)</summary><ul>{"".join(items)}</ul></details>')
    return ''.join(out) or '<p class="none">No run has details beyond its row.</p>'
