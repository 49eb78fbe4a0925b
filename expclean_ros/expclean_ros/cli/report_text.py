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

"""A batch report's summary and verdicts as lines for a terminal (``expclean report --text``)."""

from expclean_ros.core.units import seconds

__all__ = ['summary_sentences', 'text_lines']

_LEVEL = {'ok': 'ok  ', 'warn': 'WARN', 'info': 'info'}


def summary_sentences(report):
    """Return the summary as short sentences; the page and the terminal say the same."""
    s = report.summary
    status = ', '.join(f'{s[k]} {k.replace("_", " ")}'
                       for k in ('ok', 'failed', 'timed_out', 'error') if s[k])
    lines = [f'{s["runs"]} runs ({status or "none finished"})'
             + (f', {s["interrupted"]} interrupted (started, never finished)'
                if s['interrupted'] else '')
             + f' from {s["ledgers"]} ledger{"s" if s["ledgers"] > 1 else ""} on '
             + ', '.join(s['hosts']),
             f'time: {seconds(s["wall_s"])} in all, {seconds(s["run_s"])} running, '
             f'{seconds(s["between_runs_s"])} between runs (teardown, cleanup, settling) where '
             f'the original script\'s fixed waits would have cost {seconds(s["fixed_waits_s"])} '
             f'({s["fixed_waits"]} waits: after every run but the table\'s last)',
             f'processes stopped after their run: {s["processes_stopped"]}, '
             f'left running: {s["processes_left"]}']
    if s['skipped_lines']:
        lines.append(f'{s["skipped_lines"]} ledger lines skipped (see below)')
    return lines


def text_lines(report):
    """Summary, verdicts, skipped lines and missing fields."""
    out = summary_sentences(report) + ['', 'verdicts:']
    out += [f'  {_LEVEL.get(v.level, v.level)}  {v.text}' for v in report.verdicts]
    for f in report.ledgers:
        for note in f.notes:
            out.append(f'note: {f.label}: {note}')
        for number, why in f.skipped:
            out.append(f'skipped: {f.path} line {number}: {why}')
    for name, where in report.missing.items():
        shown = ', '.join(where[:5]) + (f' and {len(where) - 5} more' if len(where) > 5 else '')
        out.append(f'not in the ledger: {name} ({shown}); shown as \u2014')
    return out
