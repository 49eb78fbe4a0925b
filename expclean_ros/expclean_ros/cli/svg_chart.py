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
Small inline SVG charts for the report page: lines over runs, and stacked bars.

Plain strings, no dependency: the page stays one self-contained file.
"""

import math
from html import escape
from typing import List, Optional, Sequence, Tuple

__all__ = ['line_chart', 'bar_chart', 'nice_ticks']

W, H = 880, 240
LEFT, RIGHT, TOP, BOTTOM = 70, 16, 44, 34
COLOURS = ('#1f77b4', '#d62728', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b')
DASHES = ('', '6 3', '2 2', '8 2 2 2', '', '4 4')
_POINT_LIMIT = 120  # markers and hover titles up to this many runs
MARKS = ('disturbed', 'not back')  # runs to distrust, marked above a figure's plot
MARK_SYMBOLS = ('\u25b2', '\u2715')
MARK_COLOURS = ('#ff7f0e', '#d62728')
MARK_Y = TOP - 2


def nice_ticks(lo: float, hi: float, count: int = 5) -> List[float]:
    """
    About ``count`` round values covering ``lo..hi``.

    >>> nice_ticks(0, 10)
    [0, 2, 4, 6, 8, 10]
    """
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / count
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 2.5, 5, 10) if step * m >= raw)
    first = math.floor(lo / step) * step
    return [round(first + i * step, 10) for i in range(int(math.ceil((hi - first) / step)) + 1)]


def _frame(title: str, ticks: Sequence[float], y, fmt, n: int, x, bands=()) -> List[str]:
    out = [f'<svg viewBox="0 0 {W} {H}" role="img" '
           f'class="chart" aria-label="{escape(title)}"><title>{escape(title)}</title>',
           f'<text x="{LEFT}" y="16" class="ct">{escape(title)}</text>']
    for t in ticks:
        out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y(t):.1f}" y2="{y(t):.1f}" '
                   f'class="grid"/><text x="{LEFT - 6}" y="{y(t) + 4:.1f}" class="yl">'
                   f'{escape(fmt(t))}</text>')
    step = max(1, int(math.ceil(n / 10)))
    for i in range(0, n, step):
        out.append(f'<text x="{x(i):.1f}" y="{H - BOTTOM + 16}" class="xl">{i + 1}</text>')
    out.append(f'<text x="{(LEFT + W - RIGHT) / 2}" y="{H - 4}" class="xl">run</text>')
    for start, label in bands:  # merged ledgers: where each one's runs begin
        at = x(start) - (W - LEFT - RIGHT) / n / 2
        out.append(f'<line x1="{at:.1f}" x2="{at:.1f}" y1="{TOP}" y2="{H - BOTTOM}" '
                   f'class="band"/><text x="{at + 3:.1f}" y="{TOP + 10}" class="lg">'
                   f'{escape(label)}</text>')
    return out


def _scales(n: int, lo: float, hi: float, ticks: Sequence[float]):
    lo, hi = min(lo, ticks[0]), max(hi, ticks[-1])
    span = (hi - lo) or 1.0

    def x(i):
        return LEFT + (W - LEFT - RIGHT) * ((i + 0.5) / n)

    def y(v):
        return TOP + (H - TOP - BOTTOM) * (1 - (v - lo) / span)
    return x, y


def _legend(names: Sequence[str], kind: str) -> List[str]:
    out, at = [], LEFT
    for k in range(len(names)):
        colour = COLOURS[k % len(COLOURS)]
        mark = (f'<line x1="{at}" x2="{at + 14}" y1="30" y2="30" stroke="{colour}" '
                f'stroke-width="2" stroke-dasharray="{DASHES[k % len(DASHES)]}"/>'
                if kind == 'line' else
                f'<rect x="{at}" y="24" width="12" height="10" fill="{colour}"/>')
        out.append(f'{mark}<text x="{at + 18}" y="34" class="lg">{escape(names[k])}</text>')
        at += 18 + 7 * len(names[k]) + 20
    return out


def line_chart(title: str, series: Sequence[Tuple[str, Sequence[Optional[float]]]],
               fmt, scale: float = 1.0, bands: Sequence[Tuple[int, str]] = (),
               marks: Sequence[Tuple[int, str, str]] = ()) -> str:
    """
    One line per ``(name, values)``; None leaves a gap.

    ``fmt`` labels the y ticks (given values divided by ``scale``); ``bands``: ``(first index,
    label)`` of each ledger's runs when several are merged; ``marks``: ``(index, kind, why)``
    of runs to distrust, drawn above the plot (kind ``disturbed`` or ``not back``).
    """
    n = max((len(v) for _, v in series), default=0)
    values = [v / scale for _, vs in series for v in vs if v is not None]
    if not n or not values:
        return f'<p class="none">{escape(title)}: no figures in the ledger.</p>'
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.05 or abs(hi) * 0.05 or 1.0
    ticks = nice_ticks(lo - pad, hi + pad)
    x, y = _scales(n, lo - pad, hi + pad, ticks)
    out = _frame(title, ticks, y, fmt, n, x, bands)
    for k, (name, vs) in enumerate(series):
        colour, dash = COLOURS[k % len(COLOURS)], DASHES[k % len(DASHES)]
        runs, current = [], []
        for i, v in enumerate(vs):
            if v is None:
                runs, current = runs + [current] if current else runs, []
            else:
                current.append(f'{x(i):.1f},{y(v / scale):.1f}')
        runs += [current] if current else []
        for part in runs:
            out.append(f'<polyline points="{" ".join(part)}" fill="none" stroke="{colour}" '
                       f'stroke-width="1.6" stroke-dasharray="{dash}"/>')
        if n <= _POINT_LIMIT:
            for i, v in enumerate(vs):
                if v is not None:
                    out.append(f'<circle cx="{x(i):.1f}" cy="{y(v / scale):.1f}" r="2.6" '
                               f'fill="{colour}"><title>run {i + 1}, {escape(name)}: '
                               f'{escape(fmt(v / scale))}</title></circle>')
    out += _legend([name for name, _ in series], 'line')
    out += _marks(marks, x)
    return ''.join(out) + '</svg>'


def _marks(marks: Sequence[Tuple[int, str, str]], x) -> List[str]:
    """Draw a symbol above each marked run (its title says why), and a key when any is."""
    out, kinds = [], {}
    for i, kind in enumerate(MARKS):
        kinds[kind] = (MARK_Y + 11 * i, MARK_COLOURS[i], MARK_SYMBOLS[i])
    for index, kind, why in marks:
        at, colour, symbol = kinds[kind]
        out.append(f'<text x="{x(index):.1f}" y="{at}" class="mk" fill="{colour}">{symbol}'
                   f'<title>run {index + 1}: {escape(kind)}: {escape(why)}</title></text>')
    if marks:
        key = ', '.join(f'{MARK_SYMBOLS[i]} {k}' for i, k in enumerate(MARKS))
        out.append(f'<text x="{W - RIGHT}" y="16" class="lg" text-anchor="end">{key}</text>')
    return out


def bar_chart(title: str, stacks: Sequence[Tuple[str, Sequence[int]]],
              bands: Sequence[Tuple[int, str]] = ()) -> str:
    """Stacked bars per run: ``(name, count per run)`` from the bottom up."""
    n = max((len(v) for _, v in stacks), default=0)
    totals = [sum(vs[i] for _, vs in stacks if i < len(vs)) for i in range(n)]
    if not n:
        return f'<p class="none">{escape(title)}: no figures in the ledger.</p>'
    ticks = [t for t in nice_ticks(0, max(max(totals), 1), 4) if t == int(t)]
    x, y = _scales(n, 0, max(max(totals), 1), ticks)
    out = _frame(title, ticks, y, lambda t: f'{t:g}', n, x, bands)
    width = min(40.0, max(1.0, (W - LEFT - RIGHT) / n * 0.7))
    for i in range(n):
        base = 0
        for k, (name, vs) in enumerate(stacks):
            count = vs[i] if i < len(vs) else 0
            if count:
                tip = (f'<title>run {i + 1}: {count} {escape(name)}</title>'
                       if n <= _POINT_LIMIT else '')
                out.append(f'<rect x="{x(i) - width / 2:.1f}" y="{y(base + count):.1f}" '
                           f'width="{width:.1f}" height="{y(base) - y(base + count):.1f}" '
                           f'fill="{COLOURS[k % len(COLOURS)]}">{tip}</rect>')
                base += count
    out += _legend([name for name, _ in stacks], 'bar')
    return ''.join(out) + '</svg>'
