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
SIGTERM and SIGHUP to ``ros2 launch`` as an orderly shutdown, as Ctrl-C is.

Upstream launch handles SIGINT only: SIGTERM and SIGHUP (``timeout``, Slurm's
``scancel`` and time limit, ``docker stop``, a closed terminal, a cancelled CI
job) end it at once, so no ``OnShutdown`` handler runs, no teardown, no
cleanup call, and its children are orphaned. Every expclean launch action
calls :func:`handle_shutdown_signals` when it executes: from then on, either
signal emits launch's ``Shutdown`` event (the teardown of the run and the
cleanup call follow, as on Ctrl-C); a second one during that shutdown is
ignored, as launch ignores a second Ctrl-C.
"""

import os
import signal
import threading
import weakref

from launch.events import Shutdown
from launch.launch_context import LaunchContext
from launch.logging import get_logger

__all__ = ['handle_shutdown_signals', 'SHUTDOWN_SIGNALS']

SHUTDOWN_SIGNALS = (signal.SIGTERM, signal.SIGHUP)

_lock = threading.Lock()
_installed = {}  # signal number -> (the launch context it shuts down, previous handler)
_told = weakref.WeakSet()  # launch contexts told about an ignored SIGINT
_asked = weakref.WeakSet()  # launch contexts already asked to shut down by a signal


def handle_shutdown_signals(context: LaunchContext) -> None:
    """
    Make SIGTERM and SIGHUP shut ``context``'s launch down in order (idempotent).

    Only from the main thread (where ``ros2 launch`` runs its loop); elsewhere
    signals cannot be handled and nothing changes. After this launch has
    ended, the signals act as before it (the previous handler, or the default).
    """
    if threading.current_thread() is not threading.main_thread():
        return
    with _lock:
        for signum in SHUTDOWN_SIGNALS:
            current = _installed.get(signum)
            if current is not None and current[0] is context:
                continue
            if signal.getsignal(signum) == signal.SIG_IGN:
                continue  # ignored at start (SIGHUP under nohup): stays ignored
            previous = current[1] if current is not None else signal.getsignal(signum)
            _installed[signum] = (context, previous)
            signal.signal(signum, _on_signal)
        first = context not in _told
        _told.add(context)
    _quiet_launch_sigterm()
    if first and signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        get_logger('expclean').warning(
            'SIGINT is ignored in this launch (started in the background by a shell, e.g. '
            '`ros2 launch ... &` in a script): stop it with SIGTERM (kill -TERM PID)')


def _quiet_launch_sigterm() -> None:
    """
    Take launch's own SIGTERM handler out of its signal manager.

    With a Python handler installed for SIGTERM, the signal also reaches
    launch's ``AsyncSafeSignalManager`` (through the wakeup fd), whose handler
    cancels launch's run task ("terminating..."), which would cut our
    shutdown short. The manager is launch's (Humble to Rolling alike); a
    launch without it has no such handler.
    """
    try:
        from launch.utilities.signal_management import AsyncSafeSignalManager
    except ImportError:
        return
    manager = getattr(AsyncSafeSignalManager, '_AsyncSafeSignalManager__current', None)
    if manager is not None:
        manager.handle(signal.SIGTERM, None)


def _on_signal(signum, frame):
    """Python's handler, in the main thread: hand the signal to launch's loop, if it runs."""
    context, previous = _installed.get(signum, (None, signal.SIG_DFL))
    loop = getattr(context, 'asyncio_loop', None) if context is not None else None
    if loop is not None and loop.is_running() and not loop.is_closed():
        loop.call_soon_threadsafe(_shutdown, context, signum)
        return
    # no launch of ours runs any more: what the signal did before
    with _lock:
        _installed.pop(signum, None)
    signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
    if callable(previous):
        previous(signum, frame)
    elif previous != signal.SIG_IGN:
        os.kill(os.getpid(), signum)


def _shutdown(context: LaunchContext, signum: int) -> None:
    name = signal.Signals(signum).name
    log = get_logger('expclean')
    if context.is_shutdown or context in _asked:
        log.warning(f'{name} again during shutdown, ignoring: the teardown of the run is '
                    'under way')
        return
    log.warning(f'{name} received: shutting down as on ctrl-c (teardown of the run, then '
                'the cleanup call)')
    _asked.add(context)  # launch marks itself shut down once it handles the event
    context.emit_event_sync(Shutdown(reason=f'{name} received', due_to_sigint=False))
