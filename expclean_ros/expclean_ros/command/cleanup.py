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
