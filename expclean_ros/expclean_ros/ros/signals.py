"""How the cleanup node stops: SIGINT and SIGTERM end its spin at once and never raise;
once shut down, it leaves without the interpreter's slow exit."""

import ctypes
import logging
import os
import signal
import sys
import threading

__all__ = ['stop_on_signals', 'spin_until_stopped', 'leave']

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
    """Spin ``executor`` until ``stop`` is set, then shut it down; SIGINT/SIGTERM end its
    wait at once.

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
    # rclpy destroys the executor's guard condition before waiting for its
    # thread pool, so a queued callback can still touch it ("exception was
    # never retrieved"): drain the pool first.
    pool = getattr(executor, '_executor', None)
    if pool is not None:
        pool.shutdown(wait=True)
    executor.shutdown()


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


def leave(code: int) -> None:
    """End the process with ``code`` at once, after flushing every output stream.

    For the node's command only, after ``main()`` has returned: rclpy is shut
    down then, and the node's DDS entities, log files and threads are closed.
    What a normal interpreter exit would still do costs ~0.15 s and frees
    nothing that outlives the process: module teardown (~0.04 s) and Fast
    DDS's ``DomainParticipantFactory`` destructor, which sleeps 100 ms. Under
    ``ros2 launch`` that time adds to every run, since launch waits for the
    node after the teardown's cleanup call.
    """
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed or gone: nothing to keep
            pass
    try:
        ctypes.CDLL(None).fflush(None)  # C stdio buffers (rcutils' console output)
    except (OSError, AttributeError):
        pass
    os._exit(code)
