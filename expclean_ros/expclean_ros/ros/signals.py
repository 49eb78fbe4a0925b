"""The cleanup node's signal handling: SIGINT and SIGTERM set an Event, never raise."""

import signal
import threading

__all__ = ['stop_on_signals']


def stop_on_signals() -> threading.Event:
    """Return an Event set by SIGINT/SIGTERM; the handlers never raise.

    rclpy's own signal handling is off (see main): shutting the context down
    from a signal while the executor builds its wait set races (RCLError), and
    under ``ros2 launch`` a node gets SIGINT twice (terminal and launch), so a
    second signal must not raise in the middle of shutdown either.
    """
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop
