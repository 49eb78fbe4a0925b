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
How the cleanup node stops: SIGINT and SIGTERM end its spin at once and never raise.

Once shut down, it leaves without the interpreter's slow exit.
"""

import ctypes
import logging
import os
import signal
import sys
import threading

from .rclpy_compat import drain_thread_pool

__all__ = ['stop_on_signals', 'spin_until_stopped', 'leave', 'defer_sigterm']

#: Longest wait of the executor between two looks at the stop Event when nothing wakes it.
IDLE_WAIT_S = 0.5
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def stop_on_signals() -> threading.Event:
    """
    Return an Event set by SIGINT/SIGTERM; the handlers never raise.

    rclpy's own signal handling is off (see main): shutting the context down
    from a signal while the executor builds its wait set races (RCLError), and
    under ``ros2 launch`` a node gets SIGINT twice (terminal and launch), so a
    second signal must not raise in the middle of shutdown either.
    """
    stop = threading.Event()

    def handler(signum, frame):
        if not _watching.is_set():  # else the watcher thread has seen it already
            _stop_signal(signum, stop)
    for signum in _STOP_SIGNALS:
        signal.signal(signum, handler)
    return stop


class _Deferral:
    """A first SIGTERM put off while ``holds()`` (see :func:`defer_sigterm`)."""

    def __init__(self, holds, limit_s, say):
        self.holds, self.limit_s, self.say = holds, limit_s, say
        self.timer = None


_deferral = None  # the node's, once set
_watching = threading.Event()  # the wakeup-fd watcher decides (one decision per signal)


def defer_sigterm(holds, limit_s: float, say) -> None:
    """
    Put a first SIGTERM off while ``holds()`` is true, for at most ``limit_s``.

    For a node started by launch: a job manager (Slurm's scancel and time limit,
    systemd's stop) sends SIGTERM to every process of the job at once, and the
    node must outlive launch's teardown to answer its cleanup call; launch then
    stops it with SIGINT. A second SIGTERM, a SIGINT, or the end of
    ``limit_s`` stops it; ``say(text)`` tells why it stays.
    """
    global _deferral
    _deferral = _Deferral(holds, limit_s, say)


def _stop_signal(signum, stop: threading.Event) -> bool:
    """One SIGINT or SIGTERM: set ``stop`` (True), or put a first SIGTERM off (False)."""
    d = _deferral
    if signum == signal.SIGTERM and d is not None and d.timer is None and not stop.is_set():
        try:
            holds = d.holds()
        except Exception:
            holds = False
        if holds:
            d.timer = threading.Timer(d.limit_s, stop.set)
            d.timer.daemon = True
            d.timer.start()
            d.say(f'SIGTERM while the launch that started this node still runs (a job '
                  f'manager signals every process): staying until launch stops it, at most '
                  f'{d.limit_s:g} s (SIGINT or a second SIGTERM: at once)')
            return False
    stop.set()
    return True


def spin_until_stopped(executor, node, stop: threading.Event) -> None:
    """
    Spin ``executor`` until ``stop`` is set, then shut it down.

    SIGINT/SIGTERM end its wait at once.

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
    _watching.set()
    watcher.start()
    try:
        while not stop.is_set():
            executor.spin_once(timeout_sec=IDLE_WAIT_S)
    finally:
        _watching.clear()
        signal.set_wakeup_fd(previous)
        os.close(write_fd)  # the watcher reads end-of-file and returns
        watcher.join(1.0)
        os.close(read_fd)
    # rclpy destroys the executor's guard condition before waiting for its
    # thread pool, so a queued callback can still touch it ("exception was
    # never retrieved"): drain the pool first.
    drain_thread_pool(executor)
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
        stopped = [_stop_signal(signum, stop) for signum in data if signum in _STOP_SIGNALS]
        if any(stopped):
            try:
                wake()
            except Exception:  # the guard condition is gone: the node is stopping anyway
                return


def leave(code: int) -> None:
    """
    End the process with ``code`` at once, after flushing every output stream.

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
