"""The cleanup node's signal handling: SIGINT and SIGTERM stop it at once and never raise."""

import os
import signal
import threading

__all__ = ['stop_on_signals', 'spin_until_stopped']

#: Longest wait of the executor between two looks at the stop Event when nothing wakes it.
IDLE_WAIT_S = 0.5
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def stop_on_signals() -> threading.Event:
    """Return an Event set by SIGINT/SIGTERM; the handlers never raise.

    rclpy's own signal handling is off (see main): shutting the context down
    from a signal while the executor builds its wait set races (RCLError), and
    under ``ros2 launch`` a node gets SIGINT twice (terminal and launch), so a
    second signal must not raise in the middle of shutdown either.
    """
    stop = threading.Event()
    for signum in _STOP_SIGNALS:
        signal.signal(signum, lambda *_: stop.set())
    return stop


def spin_until_stopped(executor, node, stop: threading.Event) -> None:
    """Spin ``executor`` until ``stop`` is set; SIGINT/SIGTERM end its wait at once.

    Python runs a signal handler in the main thread only between bytecodes,
    while the executor waits inside rcl: on its own a signal would be seen
    only when that wait times out. So the signal is also written to a pipe at
    C level (``signal.set_wakeup_fd``), and a thread reading the pipe sets
    ``stop`` and triggers a guard condition of ``node``, which ends the wait.
    Must be called from the main thread (``set_wakeup_fd``).
    """
    wake = node.create_guard_condition(lambda: None)
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)  # the C handler must never block
    previous = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    watcher = threading.Thread(target=_watch, args=(read_fd, stop, wake.trigger),
                               name='signal_wake', daemon=True)
    watcher.start()
    try:
        while not stop.is_set():
            executor.spin_once(timeout_sec=IDLE_WAIT_S)
    finally:
        signal.set_wakeup_fd(previous)
        os.close(write_fd)  # the watcher reads end-of-file and returns
        watcher.join(1.0)
        os.close(read_fd)


def _watch(read_fd: int, stop: threading.Event, wake) -> None:
    """Until end-of-file on ``read_fd``: on a stop signal's number, set ``stop`` and ``wake()``."""
    while True:
        try:
            data = os.read(read_fd, 64)
        except OSError:
            return
        if not data:
            return
        if any(signum in data for signum in _STOP_SIGNALS):
            stop.set()
            try:
                wake()
            except Exception:  # the guard condition is gone: the node is stopping anyway
                return
