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

"""``expclean report``: one HTML page (or text, or JSON) for a batch's ledgers."""

import json
import os
import sys

from expclean_ros.cli.main import CliError
from expclean_ros.core.units import MIB

__all__ = ['add_arguments', 'add_report', 'report']


def add_report(p):
    p.add_argument('ledgers', nargs='+', metavar='LEDGER',
                   help='ledgers written by expclean run (several: shards or machines, merged)')
    p.add_argument('-o', '--output', default=None,
                   help='HTML page to write (default: report.html, unless --text or --json)')
    p.add_argument('--label', action='append', default=[], metavar='NAME',
                   help="name of each ledger's runs, in order (e.g. --label plain --label ours;"
                        ' default: the file name)')
    p.add_argument('--text', action='store_true', help='print the summary and verdicts')
    p.add_argument('--json', action='store_true',
                   help='print summary, verdicts and per-run figures as JSON')
    p.add_argument('--drift-tolerance', type=float, default=1.0, metavar='MIB',
                   help='a slope below this many MiB per run is flat (default: 1)')
    p.add_argument('--tolerance', action='append', default=[], metavar='MIB|NAME=VALUE',
                   help='MIB: memory above its level before a run by more than this many MiB: '
                        'not back (where the runner did not verify it; default: 32); '
                        "NAME=VALUE: figure NAME's tolerance per run (repeatable)")
    p.add_argument('--figure-share', type=float, default=1.0, metavar='PERCENT',
                   help="a figure's tolerance per run, in percent of its median, where no "
                        '--tolerance NAME=VALUE gives one (default: 1)')
    p.set_defaults(func=report)


def add_arguments(sub):
    p = sub.add_parser('report', help='one HTML page of a batch: every run, plots, verdicts',
                       description="e.g. 'expclean report runs.jsonl -o report.html', "
                                   "'expclean report shard1.jsonl shard2.jsonl --text'")
    add_report(p)


def _tolerances(given):
    """Return (MiB of the level tolerance, figure -> tolerance) of the --tolerance options."""
    from expclean_ros.core.report.figure_verdicts import parse_tolerance
    level, figures = 32.0, {}
    for text in given:
        try:
            level = float(text)
        except ValueError:
            name, value = parse_tolerance(text)
            figures[name] = value
    return level, figures


def report(args):
    from expclean_ros.core.report import build_report
    level, figures = _tolerances(args.tolerance)
    if args.drift_tolerance < 0 or level < 0 or not args.figure_share >= 0:
        raise CliError('--drift-tolerance, --tolerance and --figure-share must be zero or more')
    built = build_report(args.ledgers, args.label, drift_tolerance=args.drift_tolerance * MIB,
                         level_tolerance=level * MIB, figure_share=args.figure_share / 100,
                         figure_tolerances=figures)
    if args.json:
        print(json.dumps(built.as_dict(), indent=1))
    if args.text:
        from expclean_ros.cli.report_text import text_lines
        print('\n'.join(text_lines(built)))
    output = args.output or (None if args.json or args.text else 'report.html')
    if output:
        from expclean_ros.cli.report_html import render
        page = render(built)
        with open(output, 'w', encoding='utf-8') as f:
            f.write(page)
        warns = sum(1 for v in built.verdicts if v.level == 'warn')
        line = (f'wrote {os.path.abspath(output)}: {len(built.runs)} runs from '
                f'{len(built.ledgers)} ledger(s), {len(page.encode()) / 1024:.0f} KiB, '
                f'{warns} warning verdict(s), {built.summary["skipped_lines"]} line(s) skipped')
        print(line, file=sys.stderr if args.json else sys.stdout)
    return 0
