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

"""``expclean`` entry point: argparse subcommands, one place that maps errors to exit codes."""

import argparse
import importlib
import os
import signal
import sys

__all__ = ['main', 'run', 'CliError', 'BROKEN_PIPE_EXIT']

#: The exit status when the reader of our output went away (``expclean memory --watch | head``):
#: what a shell reports for a tool ended by SIGPIPE, 128 + 13.
BROKEN_PIPE_EXIT = 128 + signal.SIGPIPE


class CliError(RuntimeError):
    """A user-facing error: printed as ``expclean: error: ...``, exit 1."""


def build_parser():
    parser = argparse.ArgumentParser(
        prog='expclean',
        description='Clean a machine between ROS 2 experiment runs, through cleanup nodes.')
    sub = parser.add_subparsers(dest='verb', metavar='VERB')
    sub.required = True
    for name in VERB_MODULES:
        importlib.import_module(f'expclean_ros.cli.{name}').add_arguments(sub)
    return parser


# Modules of expclean_ros.cli that define verbs: each has add_arguments(subparsers),
# and sets func=callable(args) -> exit code on its parsers. Heavy imports stay inside verbs.
VERB_MODULES = ('ros_verbs', 'run_verb', 'report_verb', 'plot_verb', 'doctor_verb')


def main(argv=None):
    """Run one ``expclean`` command; return its exit code."""
    parser = build_parser()
    return run(parser.parse_args(argv))


def run(args, prog='expclean'):
    """
    Run the verb parsed into ``args``; the one place that maps errors to exit codes.

    ``ros2 cleanup`` verbs call it too (``prog='ros2 cleanup'``).
    """
    sys.stdout.reconfigure(line_buffering=True)
    try:
        return args.func(args) or 0
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return reader_gone()
    except (CliError, ValueError, OSError) as exc:
        print(f'{prog}: error: {exc}', file=sys.stderr)
        return 1
    except Exception as exc:
        if not _from_ros(exc):
            raise  # a bug: keep its traceback
        print(f'{prog}: error: {type(exc).__name__}: {exc}', file=sys.stderr)
        return 1


_OWN_STDOUT = []  # the descriptor sys.stdout writes to, once own_stdout has made it


def own_stdout() -> None:
    """
    Keep stdout for expclean's own output, so that ``--json`` stays parseable.

    Native libraries write to descriptor 1 (Fast DDS logs its errors through
    ``std::cout``, e.g. ``RTPS_TRANSPORT_SHM Error ... Failed init_port``), so
    descriptor 1 is pointed at stderr and ``sys.stdout`` (line-buffered) gets a
    duplicate of the real stdout. Called where a verb starts ROS (never where it
    starts children of its own, such as ``expclean run``'s commands, which keep
    the real stdout). Once per process; a ``sys.stdout`` with no descriptor 1
    behind it (a test's capture) is left alone.
    """
    if _OWN_STDOUT:
        return
    try:
        sys.stdout.flush()
        if sys.stdout.fileno() != 1:
            raise ValueError('not descriptor 1')
        own = os.dup(1)
        os.dup2(2, 1)
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation (captured) too
        return
    sys.stdout = os.fdopen(own, 'w', buffering=1, encoding=sys.stdout.encoding,
                           errors=sys.stdout.errors)
    _OWN_STDOUT.append(own)


def reader_gone() -> int:
    """
    End quietly once the reader of stdout has gone.

    What is still buffered goes to /dev/null (else Python's exit would fail to flush it, and say
    so); :data:`BROKEN_PIPE_EXIT`. The Python documentation's idiom (``signal`` module, "Note on
    SIGPIPE").
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)
    return BROKEN_PIPE_EXIT


def _from_ros(exc):
    """Return an error raised by rclpy, rcl or the middleware (RCLError, name validation, ...)."""
    return isinstance(exc, RuntimeError) or type(exc).__module__.split('.')[0] == 'rclpy'


if __name__ == '__main__':
    sys.exit(main())
