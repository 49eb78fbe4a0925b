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
The report page: one self-contained HTML file (inline CSS, SVG and a sorting script).

Summary first, then the verdicts with their numbers, the plots, the per-run
table (sortable; each run's details behind its link) and what was skipped.
Colour only repeats what the text says. Nothing is fetched from anywhere.
"""

import time
from html import escape

from expclean_ros.cli.report_table import all_columns, run_details, run_table
from expclean_ros.cli.report_text import summary_sentences
from expclean_ros.cli.svg_chart import bar_chart, line_chart
from expclean_ros.core.report.fields import MOMENTS, STOP_STAGES
from expclean_ros.core.units import GIB, MIB, size

__all__ = ['render']

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:1200px;color:#222;
padding:0 1em}
h1{font-size:1.5em;margin:0}h2{font-size:1.15em;margin:1.4em 0 .4em;border-bottom:1px solid #ddd}
.meta{color:#555}ul.verdicts{list-style:none;padding:0}
ul.verdicts li{margin:.3em 0;padding:.35em .6em;border-left:5px solid #999;background:#f6f6f6}
li.warn{border-color:#d62728!important;background:#fdeeee!important}
li.ok{border-color:#2ca02c!important}li.info{border-color:#1f77b4!important}
.lv{font-weight:bold;text-transform:uppercase;font-size:.8em;margin-right:.5em}
svg.chart{width:100%;max-width:880px;height:auto;display:block;margin:.5em 0}
.ct{font-weight:bold;font-size:13px}.yl{font-size:11px;text-anchor:end}
.xl{font-size:11px;text-anchor:middle}.lg{font-size:11px}.grid{stroke:#e4e4e4}
.band{stroke:#555;stroke-dasharray:3 3}.mk{font-size:11px;text-anchor:middle}
table{border-collapse:collapse;font-size:12px;font-variant-numeric:tabular-nums}
th,td{border:1px solid #ddd;padding:2px 5px;text-align:right;white-space:nowrap}
td.w{white-space:normal;max-width:14em;overflow-wrap:anywhere}
th{background:#f0f0f0;cursor:pointer;position:sticky;top:0}td.l,th.l{text-align:left}
.wide{overflow-x:auto;max-height:80vh;overflow-y:auto}
tr.bad td{background:#fdeeee}.none{color:#777}details{margin:.2em 0}code{font-size:.95em}
"""

SORT = """
document.querySelectorAll('table.sortable th').forEach(function(th) {
  th.addEventListener('click', function() {
    var body = th.closest('table').tBodies[0], up = th.dataset.dir !== 'up', col = th.cellIndex;
    var units = {GiB: 1024, MiB: 1, KiB: 1 / 1024, s: 1};
    function key(tr) {
      var t = tr.cells[col].textContent.trim(), m = t.match(/^([-+]?[0-9.]+)\\s*(\\w*)/);
      return m ? parseFloat(m[1]) * (units[m[2]] || 1) : t;
    }
    Array.from(body.rows).sort(function(a, b) {
      var x = key(a), y = key(b);
      var c = (typeof x === typeof y) ? (x < y ? -1 : x > y ? 1 : 0)
                                      : (typeof x === 'number' ? -1 : 1);
      return up ? c : -c;
    }).forEach(function(tr) { body.appendChild(tr); });
    th.dataset.dir = up ? 'up' : 'down';
  });
});
"""


def _scale(values):
    top = max((abs(v) for v in values if v is not None), default=0)
    return (GIB, 'GiB') if top >= GIB else (MIB, 'MiB')


def _bands(report):
    if len(report.ledgers) < 2:
        return ()
    out, start = [], 0
    for f in report.ledgers:
        out.append((start, f'{f.label} ({f.host})'))
        start += len(f.runs)
    return tuple(out)


def _marks(report):
    """(index, kind, why) of the runs a figure's plot marks: disturbed, not back."""
    out = []
    for i, (run, (back, why)) in enumerate(zip(report.runs, report.back)):
        if run.disturbed:
            out.append((i, 'disturbed', run.disturbed_cause or 'disturbed'))
        if back is False:
            out.append((i, 'not back', why))
    return out


def _figure_plots(report, bands):
    marks = _marks(report)
    return [line_chart(f'{name} of each run, over run order',
                       [(name, [r.figures.get(name) for r in report.runs])],
                       lambda v: f'{v:.4g}', bands=bands, marks=marks)
            for name in report.summary['figures']]


def _plots(report):
    bands = _bands(report)
    out = _figure_plots(report, bands)
    for resource in report.resources:
        series = report.series(resource)
        scale, unit = _scale([v for vs in series.values() for v in vs])
        out.append(line_chart(f'{resource} in use, {unit}: before, peak, after teardown, after '
                              f'cleanup of each run',
                              [(label, series[key]) for key, label in MOMENTS],
                              lambda v: f'{v:.2f}' if unit == 'GiB' else f'{v:.0f}', scale,
                              bands))
    out.append(line_chart('seconds: run, and between runs (teardown, cleanup, settling)',
                          [('run', [r.duration_s for r in report.runs]),
                           ('between runs', [r.between_s for r in report.runs])],
                          lambda v: f'{v:g}', bands=bands))
    out.append(bar_chart('processes stopped after each run, by the stage they exited at',
                         [(stage if stage != 'left' else 'left running',
                           [r.stages.get(stage, 0) for r in report.runs])
                          for stage in STOP_STAGES], bands))
    return out


def _skipped(report):
    items = []
    for f in report.ledgers:
        items += [f'<li>{escape(f.label)}: {escape(n)}</li>' for n in f.notes]
        items += [f'<li><code>{escape(f.path)}</code> line {n}: {escape(why)}</li>'
                  for n, why in f.skipped]
        items += [f'<li>{escape(f.label)}: run {i + 1} started and never finished '
                  f'(interrupted)</li>' for i in f.interrupted]
    for name, where in report.missing.items():
        shown = ', '.join(where[:8]) + (f' and {len(where) - 8} more' if len(where) > 8 else '')
        items.append(f'<li>not in the ledger: <code>{escape(name)}</code> ({escape(shown)}); '
                     f'shown as \u2014</li>')
    if not items:
        return '<p id="skipped">Every ledger line was read; no field is missing.</p>'
    return f'<ul id="skipped">{"".join(items)}</ul>'


def render(report) -> str:
    """Return the whole page as one string."""
    ledgers = ''.join(f'<li>{escape(f.label)}: <code>{escape(f.path)}</code>, on '
                      f'{escape(f.host)}, table <code>{escape(str(f.header.get("table")))}'
                      f'</code>, {len(f.runs)} runs</li>' for f in report.ledgers)
    verdicts = ''.join(f'<li class="{v.level}"><span class="lv">{escape(v.level)}</span>'
                       f'{escape(v.text)}</li>' for v in report.verdicts)
    summary = ''.join(f'<li>{escape(line)}</li>' for line in summary_sentences(report))
    return ''.join([
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<title>expclean report: {len(report.runs)} runs</title><style>{STYLE}</style>'
        '</head><body>',
        f'<h1>expclean report: {len(report.runs)} runs</h1><p class="meta">written '
        f'{escape(time.strftime("%Y-%m-%d %H:%M:%S %Z"))} from</p><ul class="meta">{ledgers}</ul>',
        f'<h2 id="summary">Summary</h2><ul>{summary}</ul>',
        f'<h2 id="verdicts">Verdicts</h2><ul class="verdicts">{verdicts}</ul>',
        '<h2 id="plots">Plots</h2>', ''.join(_plots(report)),
        '<h2 id="runs">Runs</h2><p>Click a column to sort; a run\'s number links to its '
        f'details. Memory is in use, {escape(size(None))} where the ledger has no figure.</p>',
        run_table(report), all_columns(report),
        '<h2 id="details">Details</h2>', run_details(report),
        '<h2 id="lines">Skipped lines and missing fields</h2>', _skipped(report),
        f'<script>{SORT}</script></body></html>'])
