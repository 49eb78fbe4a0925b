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
``ros2 cleanup VERB``: the expclean command line as a ros2cli command.

Loaded by ros2cli only (entry point ``ros2cli.command``); the verbs are the
``expclean_ros.verb`` entry points and share their implementation with ``expclean``.
"""

from ros2cli.command import CommandExtension, add_subparsers_on_demand

__all__ = ['CleanupCommand']


class CleanupCommand(CommandExtension):
    """Clean up between experiment runs through cleanup nodes (expclean)."""

    def add_arguments(self, parser, cli_name):
        self._subparser = parser
        add_subparsers_on_demand(parser, cli_name, '_verb', 'expclean_ros.verb', required=False)

    def main(self, *, parser, args):
        if not hasattr(args, '_verb'):
            self._subparser.print_help()
            return 0
        return getattr(args, '_verb').main(args=args)
