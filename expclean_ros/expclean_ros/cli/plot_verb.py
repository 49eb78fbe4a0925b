"""``expclean plot``: RAM and GPU memory before/after each run of a ledger, as a PNG."""

import os

from expclean_ros.cli.main import CliError

__all__ = ['add_arguments', 'plot', 'draw_memory_plot']


def add_arguments(sub):
    p = sub.add_parser('plot', help='plot RAM and GPU memory before/after each run of a ledger',
                       description="e.g. 'expclean plot runs.jsonl -o memory.png'")
    p.add_argument('ledger', help='ledger written by expclean run')
    p.add_argument('-o', '--output', default='memory.png',
                   help='PNG to write (default: memory.png)')
    p.add_argument('--size', default='8x4.5', metavar='WxH',
                   help='figure size in inches (default: 8x4.5)')
    p.add_argument('--dpi', type=int, default=100, help='dots per inch (default: 100)')
    p.set_defaults(func=plot)


def draw_memory_plot(ledger_path, output, *, width=8.0, height=4.5, dpi=100):
    """Draw RAM and each GPU before/after per run of a ledger into a PNG; return what was drawn."""
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot

    from expclean_ros.core.runs.ledger import finished_records, memory_series
    records = finished_records(ledger_path)
    series = memory_series(records)
    fig, ax = pyplot.subplots(figsize=(width, height), dpi=dpi)
    try:
        for name, points in series.items():
            style = '-o' if name.endswith('after') else '--s'
            ax.plot([p[0] for p in points], [p[1] for p in points], style, label=name,
                    markersize=4)
        ax.set_xlabel('run')
        ax.set_ylabel('memory in use, GiB')
        ax.set_title(f'{os.path.basename(ledger_path)}: memory before/after each run')
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(True, alpha=0.3)
        ax.legend(loc='best', fontsize='small')
        fig.tight_layout()
        fig.savefig(output, dpi=dpi)
    finally:
        pyplot.close(fig)
    return {'runs': len(records), 'width_px': int(round(width * dpi)),
            'height_px': int(round(height * dpi)),
            'series': {name: len(points) for name, points in series.items()}}


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
                       '(or apt install python3-matplotlib)') from None
    figure = draw_memory_plot(args.ledger, args.output, width=width, height=height,
                              dpi=args.dpi)
    print(f'wrote {os.path.abspath(args.output)}: {figure["width_px"]}x{figure["height_px"]} px, '
          f'{figure["runs"]} runs, series: '
          + ', '.join(f'{name} ({n} points)' for name, n in figure['series'].items()))
    return 0
