"""``expclean`` entry point: argparse subcommands, one place that maps errors to exit codes."""

import argparse
import sys

__all__ = ['main', 'CliError']


class CliError(RuntimeError):
    """A user-facing error: printed as ``expclean: error: ...``, exit 1."""


def build_parser():
    parser = argparse.ArgumentParser(
        prog='expclean',
        description='Clean a machine between ROS 2 experiment runs, through cleanup nodes.')
    sub = parser.add_subparsers(dest='verb', metavar='VERB')
    sub.required = True
    from expclean_ros.cli import ros_verbs
    ros_verbs.add_arguments(sub)
    for module in _OPTIONAL_VERBS:
        module.add_arguments(sub)
    return parser


# Verb modules added by later features register here (each: add_arguments(sub)).
_OPTIONAL_VERBS = []


def main(argv=None):
    """Run one ``expclean`` command; return its exit code."""
    sys.stdout.reconfigure(line_buffering=True)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except KeyboardInterrupt:
        return 130
    except (CliError, ValueError, OSError) as exc:
        print(f'expclean: error: {exc}', file=sys.stderr)
        return 1


if __name__ == '__main__':
    sys.exit(main())
