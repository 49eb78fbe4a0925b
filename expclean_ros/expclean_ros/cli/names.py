"""Full node names on the command line, as ros2cli takes them (``/robot1/cleanup``)."""

from expclean_ros.cli.main import CliError
from expclean_ros.core import node_names

__all__ = ['DEFAULT_NODE', 'full_node_name', 'start_command']

DEFAULT_NODE = '/cleanup'


def full_node_name(text: str) -> str:
    """``text`` as a full node name (:func:`expclean_ros.core.node_names.full_node_name`),
    or a CliError saying the rule.

    >>> full_node_name('robot1/cleanup')
    '/robot1/cleanup'
    """
    try:
        return node_names.full_node_name(text)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def start_command(node: str = DEFAULT_NODE) -> str:
    """The command that starts a cleanup node named ``node`` for this user: ``ros2 launch``
    where launch is installed, ``make run`` in this project's own environment, else the
    node's console command.

    >>> '/robot1' in start_command('/robot1/cleanup')
    True
    """
    import importlib.util
    import os
    import sys
    namespace, _, base = node.rpartition('/')
    remaps = (f' -r __ns:={namespace}' if namespace else '') + (
        f' -r __node:={base}' if base != 'cleanup' else '')
    spec = importlib.util.find_spec('ros2launch')
    if spec is not None and spec.origin and base == 'cleanup':
        return 'ros2 launch expclean_ros cleanup.launch.py' + (
            f' namespace:={namespace}' if namespace else '')
    checkout = os.path.dirname(sys.prefix)
    if (os.path.basename(sys.prefix).startswith('.venv-')
            and os.path.isfile(os.path.join(checkout, 'Makefile'))
            and os.path.isdir(os.path.join(checkout, 'expclean_ros'))):
        return f'make run ARGS="--ros-args{remaps}"' if remaps else 'make run'
    return f'cleanup_node --ros-args{remaps}' if remaps else 'cleanup_node'
