"""SIGTERM as Ctrl-C while a batch runs, so the current run is stopped either way."""

import contextlib
import signal
import threading

__all__ = ['sigterm_interrupts']


@contextlib.contextmanager
def sigterm_interrupts():
    """
    In the main thread, SIGTERM raises KeyboardInterrupt (as Ctrl-C does) while runs go on.

    So the current run is stopped either way.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f'signal {signum}')
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
