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
The experiment's own figures: captured by real ``expclean run`` batches, judged by the report.

A figure printed (``--metric``) and one written to ``$EXPCLEAN_METRICS`` reach the ledger; a
rising figure drifts, a flat one is ok, three noisy runs are inconclusive; a run without a
figure is left out, and named.
"""

import json

import pytest

from expclean_ros.cli.svg_chart import line_chart
from expclean_ros.core.runs.figures import write_figures

from helpers.report_ledgers import expclean, figure_batch as batch


def run_lines(ledger):
    return [json.loads(line) for line in open(ledger) if '"type": "run"' in line]


def report(ledger, *options):
    done = expclean('report', ledger, '--json', *options)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def verdict(got, kind, figure):
    (v,) = [v for v in got['verdicts'] if v['kind'] == kind and v['numbers']['figure'] == figure]
    return v


def test_printed_and_written_figures_reach_the_ledger_and_are_judged(tmp_path):
    done, ledger = batch(tmp_path, [(10 + i, 30.0) for i in range(5)])
    assert [r['figures'] for r in run_lines(ledger)] == \
        [{'latency': 10.0 + i, 'fps': 30.0} for i in range(5)]
    assert 'latency 12 ms' in done.stdout  # captured on its way, still shown
    again = expclean('run', str(tmp_path / 'runs.csv'), '--ledger', ledger, '--resume',
                     '--json', '--', 'true')
    assert [json.loads(line)['figures'] for line in again.stdout.splitlines()] == \
        [{'latency': 10.0 + i, 'fps': 30.0} for i in range(5)]
    got = report(ledger)
    assert got['summary']['figures'] == ['latency', 'fps']
    assert got['summary']['fixed_waits'] == 4  # the original script waits after no last run
    rising = verdict(got, 'figure_drift', 'latency')
    assert rising['numbers']['trend'] == 'drifts' and rising['level'] == 'warn', rising
    assert rising['numbers']['slope_per_run'] == 1.0
    assert 'latency drifts: it rises 1 per run over 5 runs' in rising['text']
    flat = verdict(got, 'figure_drift', 'fps')
    assert flat['numbers']['trend'] == 'ok' and flat['level'] == 'ok', flat
    assert flat['numbers']['tolerance_per_run'] == 0.3  # 1 % of its median
    spread = verdict(got, 'figure', 'latency')
    assert (spread['numbers']['median'], spread['numbers']['min'],
            spread['numbers']['max']) == (12.0, 10.0, 14.0)
    wide = report(ledger, '--tolerance', 'latency=5')
    assert verdict(wide, 'figure_drift', 'latency')['numbers']['trend'] == 'ok'
    typo = expclean('report', ledger, '--text', '--tolerance', 'latncy=5')
    assert typo.returncode == 1 and 'latncy: no run has such a figure' in typo.stderr
    text = expclean('report', ledger, '--text').stdout
    for v in got['verdicts']:
        assert v['text'] in text


def test_noisy_runs_are_inconclusive_and_a_missing_figure_is_named(tmp_path):
    logs = tmp_path / 'logs'
    _, ledger = batch(tmp_path, [(10, 30), (14, '-'), (9, 31)], '--log-dir', str(logs))
    figures = [r['figures'] for r in run_lines(ledger)]
    assert figures == [{'latency': 10.0, 'fps': 30.0}, {'latency': 14.0},
                       {'latency': 9.0, 'fps': 31.0}]
    got = report(ledger)
    noisy = verdict(got, 'figure_drift', 'latency')
    assert noisy['numbers']['trend'] == 'inconclusive' and noisy['level'] == 'info', noisy
    assert noisy['numbers']['runs_needed'] > 3
    assert f"about {noisy['numbers']['runs_needed']} runs would decide it" in noisy['text']
    fps = verdict(got, 'figure', 'fps')
    assert fps['numbers']['left_out'] == [2] and fps['numbers']['runs'] == 2
    assert 'run 2 has no fps and is left out' in fps['text']
    assert 'fps' not in got['runs'][1]['figures']  # never a zero


def test_bad_metric_is_refused_before_any_run(tmp_path, monkeypatch):
    monkeypatch.delenv('EXPCLEAN_METRICS', raising=False)
    assert write_figures(fps=1.0) is False  # not under expclean run: nothing written
    with pytest.raises(ValueError, match='figure fps must be a finite number'):
        write_figures(fps=float('nan'))
    table = tmp_path / 'runs.csv'
    table.write_text('lat,fps\n1,2\n')
    ledger = tmp_path / 'runs.jsonl'
    for bad, why in (('latency', 'NAME=REGEX'), ('lat=(', 'bad regular expression'),
                     ('lat=latency [0-9]+', 'has no group')):
        done = expclean('run', str(table), '--ledger', str(ledger), '--metric', bad, '--',
                        'true')
        assert done.returncode == 1 and why in done.stderr, done.stderr
        assert not ledger.exists()


def test_a_figure_plot_marks_the_runs_to_distrust():
    marks = [(1, 'not back', 'RAM +40 MiB above the level'), (2, 'disturbed', 'io stalled')]
    plot = line_chart('fps', [('fps', [30.0, 29.0, 31.0])], str, marks=marks)
    assert '<title>run 2: not back: RAM +40 MiB above the level</title>' in plot
    assert '<title>run 3: disturbed: io stalled</title>' in plot
    assert '\u25b2 disturbed, \u2715 not back' in plot
    assert 'not back' not in line_chart('fps', [('fps', [30.0, 29.0, 31.0])], str)
