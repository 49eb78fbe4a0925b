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
The verbs of ``ros2 cleanup``: thin over the ``expclean`` verbs (one implementation).

Loaded by ros2cli only (entry points ``expclean_ros.verb`` in setup.py). Node
names complete from the cleanup nodes on the graph (argcomplete).
"""

from ros2cli.plugin_system import PLUGIN_SYSTEM_VERSION, satisfies_version

from expclean_ros.cli import doctor_verb, report_verb, ros_verbs
from expclean_ros.cli.main import run

__all__ = ['VerbExtension', 'CallVerb', 'BetweenRunsVerb', 'MemoryVerb', 'TeardownVerb',
           'NodesVerb', 'DoctorVerb', 'ReportVerb']

PROG = 'ros2 cleanup'


class VerbExtension:
    """
    The extension point for ``ros2 cleanup`` verbs.

    ``NAME`` is set to the entry point name; ``main`` must be defined,
    ``add_arguments`` may be.
    """

    NAME = None
    EXTENSION_POINT_VERSION = '0.1'

    def __init__(self):
        super().__init__()
        satisfies_version(PLUGIN_SYSTEM_VERSION, '^0.1')

    def add_arguments(self, parser, cli_name):
        pass

    def main(self, *, args):
        raise NotImplementedError()


def complete_cleanup_nodes(prefix, parsed_args, **kwargs):
    """argcomplete: the full names of the cleanup nodes on the graph."""
    from expclean_ros.ros.client import CleanupClient
    with CleanupClient(name='expclean_complete') as client:
        found = client.find_cleanup_nodes(timeout_s=5.0, quiet_s=0.5)
    return [name for name in found if name.startswith(prefix)]


class _Shared(VerbExtension):
    def add_arguments(self, parser, cli_name):
        help_, example, add = ros_verbs.VERBS[self.NAME]
        parser.description = f"{help_[0].upper()}{help_[1:]}, e.g. '{example.format(prog=PROG)}'"
        add(parser)
        for action in parser._actions:
            if action.dest == 'node_name':
                action.completer = complete_cleanup_nodes

    def main(self, *, args):
        return run(args, prog=PROG)


class CallVerb(_Shared):
    """Run a quick or comprehensive cleanup on a cleanup node (or --all)."""


class BetweenRunsVerb(_Shared):
    """The original script's cleanup_between_runs(I, N) on a cleanup node."""


class MemoryVerb(_Shared):
    """RAM, swap, GPU and DDS shared memory of a cleanup node."""


class TeardownVerb(_Shared):
    """Stop the processes of a run through a cleanup node."""


class NodesVerb(_Shared):
    """List every cleanup node on the graph."""


class DoctorVerb(VerbExtension):
    """Check what a cleanup can do on this machine, as this user."""

    def add_arguments(self, parser, cli_name):
        parser.epilog = doctor_verb.EPILOG
        doctor_verb.add_doctor(parser)

    def main(self, *, args):
        return run(args, prog=PROG)


class ReportVerb(VerbExtension):
    """One HTML page (or --text, --json) of a batch's ledgers: every run, plots, verdicts."""

    def add_arguments(self, parser, cli_name):
        parser.description = ("e.g. 'ros2 cleanup report runs.jsonl -o report.html', "
                              "'ros2 cleanup report shard1.jsonl shard2.jsonl --text'")
        report_verb.add_report(parser)

    def main(self, *, args):
        return run(args, prog=PROG)
