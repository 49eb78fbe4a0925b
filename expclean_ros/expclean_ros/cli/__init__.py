"""The ``expclean`` command line: call cleanup nodes, run batches, check the machine."""

import sys

from expclean_ros.cli.main import main

__all__ = ['main', 'command']


def command():
    """
    Run the ``expclean`` console command.

    :func:`main`, then, where a verb used ROS (its client is closed by then), leave at once
    (``signals.leave``): the interpreter's exit would add ~0.15 s to every call, Fast DDS's
    participant factory sleeping 100 ms of it.
    """
    code = main()
    if 'rclpy' in sys.modules:
        from expclean_ros.ros.signals import leave
        leave(code)
    sys.exit(code)
