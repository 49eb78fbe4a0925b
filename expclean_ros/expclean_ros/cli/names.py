"""Full node names on the command line, as ros2cli takes them (``/robot1/cleanup``)."""

import re

from expclean_ros.cli.main import CliError

__all__ = ['DEFAULT_NODE', 'full_node_name']

DEFAULT_NODE = '/cleanup'
_TOKEN = r'[A-Za-z_][A-Za-z0-9_]*'


def full_node_name(text: str) -> str:
    """``text`` as an absolute node name; a relative name is taken from the root namespace.

    >>> full_node_name('robot1/cleanup')
    '/robot1/cleanup'
    """
    name = text if text.startswith('/') else '/' + text
    if not re.fullmatch(rf'(/{_TOKEN})+', name):
        raise CliError(f'{text!r} is not a node name: use a full name like /robot1/cleanup '
                       '(tokens of letters, digits and _, not starting with a digit)')
    return name
