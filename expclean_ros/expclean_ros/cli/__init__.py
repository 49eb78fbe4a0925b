"""The ``expclean`` command line: call cleanup nodes, run batches, check the machine."""

from expclean_ros.cli.main import main

__all__ = ['main']
