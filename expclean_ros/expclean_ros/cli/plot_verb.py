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
``expclean plot``: the report's memory plots as one PNG (matplotlib).

The same series as the report page (:meth:`Report.series`): per resource (RAM,
/dev/shm, each GPU) memory in use before, at the peak of, after the teardown of
and after the cleanup of each run. Several ledgers merge as in the report.
"""

import os

from expclean_ros.cli.main import CliError
from expclean_ros.core.units import GIB

__all__ = ['add_arguments', 'plot', 'draw_memory_plot']


def add_arguments(sub):
    p = sub.add_parser('plot', help="the report's memory plots of a batch as a PNG",
                       description="e.g. 'expclean plot runs.jsonl -o memory.png'")
    p.add_argument('ledgers', nargs='+', metavar='LEDGER', help='ledgers written by expclean run')
    p.add_argument('-o', '--output', default='memory.png',
                   help='PNG to write (default: memory.png)')
    p.add_argument('--size', default='8x4.5', metavar='WxH',
                   help='figure size in inches (default: 8x4.5)')
    p.add_argument('--dpi', type=int, default=100, help='dots per inch (default: 100)')
    p.set_defaults(func=plot)


def draw_memory_plot(report, output, *, width=8.0, height=4.5, dpi=100):
    """Draw ``report``'s memory series, one panel per resource, into a PNG; say what was drawn."""
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot

    from expclean_ros.core.report.fields import MOMENTS
    xs = list(range(1, len(report.runs) + 1))
    fig, axes = pyplot.subplots(len(report.resources), 1, squeeze=False, sharex=True,
                                figsize=(width, height), dpi=dpi)
    drawn = {}
    try:
        for ax, resource in zip(axes[:, 0], report.resources):
            series = report.series(resource)
            for (key, label), style in zip(MOMENTS, ('-o', '--^', ':s', '-.D')):
                points = [(x, v / GIB) for x, v in zip(xs, series[key]) if v is not None]
                if points:
                    ax.plot([p[0] for p in points], [p[1] for p in points], style,
                            label=label, markersize=3)
                    drawn[f'{resource} {label}'] = len(points)
            ax.set_ylabel(f'{resource}, GiB')
            ax.grid(True, alpha=0.3)
            ax.legend(loc='best', fontsize='x-small')
        axes[-1, 0].set_xlabel('run')
        axes[-1, 0].xaxis.get_major_locator().set_params(integer=True)
        names = ', '.join(f.label for f in report.ledgers)
        axes[0, 0].set_title(f'{names}: memory in use, four readings per run')
        fig.tight_layout()
        fig.savefig(output, dpi=dpi)
    finally:
        pyplot.close(fig)
    return {'runs': len(report.runs), 'width_px': int(round(width * dpi)),
            'height_px': int(round(height * dpi)), 'series': drawn}


def plot(args):
    try:
        width, height = (float(v) for v in args.size.lower().split('x'))
    except ValueError:
        raise CliError(f'--size must look like 8x4.5 (inches), got {args.size!r}') from None
    if width <= 0 or height <= 0 or args.dpi <= 0:
        raise CliError('--size and --dpi must be greater than zero')
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CliError('expclean plot needs matplotlib: pip install matplotlib '
                       '(or apt install python3-matplotlib); expclean report draws the same '
                       'plots as SVG without it') from None
    from expclean_ros.core.report import build_report
    figure = draw_memory_plot(build_report(args.ledgers), args.output, width=width,
                              height=height, dpi=args.dpi)
    print(f'wrote {os.path.abspath(args.output)}: {figure["width_px"]}x{figure["height_px"]} px, '
          f'{figure["runs"]} runs, series: '
          + ', '.join(f'{name} ({n} points)' for name, n in figure['series'].items()))
    return 0
