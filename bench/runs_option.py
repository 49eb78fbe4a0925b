"""The ``--runs N`` / ``--quick`` options shared by benches (``run_all.py`` passes ``--quick``)."""

import argparse


def parse_runs(argv, doc, default, quick, unit='runs'):
    """Parse ``--runs`` (default ``default``) and ``--quick`` (``quick`` runs); return the runs."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument('--runs', type=int, default=default, help=f'{unit} (e.g. {default})')
    parser.add_argument('--quick', action='store_true', help=f'{quick} {unit}')
    args = parser.parse_args(argv)
    runs = quick if args.quick else args.runs
    if runs < 1:
        parser.error('runs must be at least 1')
    return runs
