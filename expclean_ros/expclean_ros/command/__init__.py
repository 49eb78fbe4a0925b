"""``ros2 cleanup``: the ros2cli command, registered through entry points (see setup.py)."""
