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
Every use of rclpy internals, in one module, with the rclpy versions it was checked on.

rclpy offers no public way to do three things the node needs; each is done here
and nowhere else, and ``test/test_rclpy_compat.py`` fails, naming this module,
when an rclpy release changes what they rely on:

- :func:`drain_thread_pool`: wait for the callbacks a ``MultiThreadedExecutor``
  has queued in its thread pool (the private ``_executor`` attribute) before
  the executor shuts down: rclpy destroys its guard condition before waiting
  for the pool, so a queued callback can still touch it.
- :func:`replace_send_response`: the executor answers a request by calling
  ``srv.send_response(response, header)`` on the Service object after the
  callback; an instance attribute of that name takes its place.
- :func:`send_once`: tell whether a reply reached the middleware. rmw_fastrtps
  gives up on a caller whose reply reader has not matched yet ("client will not
  receive response"); rclpy of Humble raises an RCLError with that text, later
  ones a ``RuntimeWarning`` ("failed to send response (timeout): ..."). A
  warning can only be seen through the ``warnings`` module, whose state is the
  process's: :func:`send_once` installs, once, a ``showwarning`` that hands the
  warnings raised inside a ``send_once`` call to that call (thread-local) and
  passes every other warning on to the one it replaced, and it keeps that one
  message from being shown only once.

Checked on rclpy :data:`CHECKED_VERSIONS` (Humble 3.3 through Kilted 9.x);
:func:`check` says what does not hold on the rclpy at hand.
"""

import concurrent.futures
import threading
import warnings
from typing import Callable, List, Optional, Tuple

__all__ = ['CHECKED_VERSIONS', 'NOT_MATCHED', 'SEND_TIMEOUT_WARNING', 'rclpy_version',
           'version_checked', 'check', 'warn_unchecked', 'drain_thread_pool',
           'replace_send_response', 'send_once']

#: [low, high) rclpy versions this module was checked on: Humble (3.3) to Kilted (9.x).
CHECKED_VERSIONS = ((3, 3), (10, 0))
#: What rmw_fastrtps says when the caller's reply reader is not matched yet.
NOT_MATCHED = 'will not receive response'
#: The start of the RuntimeWarning newer rclpy give for that timeout.
SEND_TIMEOUT_WARNING = 'failed to send response'
#: The private attribute of MultiThreadedExecutor holding its ThreadPoolExecutor.
POOL_ATTRIBUTE = '_executor'


def rclpy_version() -> Optional[Tuple[int, ...]]:
    """
    Return rclpy's version, from its package metadata.

    Pip wheels, colcon and apt installs all carry it.

    Or None when it cannot be read.
    """
    from importlib import metadata
    for name in ('rclpy', 'ros-rclpy'):
        try:
            text = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        parts = []
        for part in text.split('.'):
            if not part.isdigit():
                break
            parts.append(int(part))
        return tuple(parts) or None
    return None


def version_checked(version: Optional[Tuple[int, ...]] = None) -> bool:
    """
    Return True when ``version`` is one this module was checked on.

    ``version`` defaults to the installed rclpy's.

    >>> version_checked((3, 3, 12)), version_checked((9, 1, 2)), version_checked((10, 0))
    (True, True, False)
    """
    version = rclpy_version() if version is None else version
    low, high = CHECKED_VERSIONS
    return version is not None and low <= tuple(version[:2]) < high


def check(executor=None) -> List[str]:
    """
    Return what this module relies on and does not hold on the installed rclpy (empty: all holds).

    ``executor``: a MultiThreadedExecutor to look into (its thread pool).
    """
    problems = []
    version = rclpy_version()
    if not version_checked(version):
        low, high = CHECKED_VERSIONS
        problems.append(f'rclpy {version} is outside the versions rclpy_compat was checked on '
                        f'({low} up to {high})')
    import inspect
    from rclpy import executors
    from rclpy.service import Service
    if not callable(getattr(Service, 'send_response', None)):
        problems.append('rclpy.service.Service has no send_response method')
    try:
        calls = '.send_response(response, header)' in inspect.getsource(executors)
    except (OSError, TypeError):  # no source installed: the behaviour test decides
        calls = True
    if not calls:  # Humble: Executor._execute_service; Kilted: Executor._take_service
        problems.append('rclpy.executors no longer answers a request through '
                        'srv.send_response(response, header)')
    if executor is not None and not isinstance(getattr(executor, POOL_ATTRIBUTE, None),
                                               concurrent.futures.ThreadPoolExecutor):
        problems.append(f'{type(executor).__name__}.{POOL_ATTRIBUTE} is not its '
                        'ThreadPoolExecutor')
    return problems


def warn_unchecked(logger, executor=None) -> None:
    """
    Log, once at start-up, each :func:`check` problem.

    The node still runs (each use falls back to doing nothing), but a reply may be lost or shutdown
    race.
    """
    for problem in check(executor):
        logger.warning(f'rclpy internals: {problem}; see expclean_ros/ros/rclpy_compat.py')


def drain_thread_pool(executor) -> None:
    """
    Wait for every callback ``executor`` has queued in its thread pool.

    That is a MultiThreadedExecutor's pool; nothing for an executor without one.
    """
    pool = getattr(executor, POOL_ATTRIBUTE, None)
    if isinstance(pool, concurrent.futures.Executor):
        pool.shutdown(wait=True)


def replace_send_response(service, make: Callable[[Callable], Callable]):
    """
    Make the executor answer requests of ``service`` through ``make(send)``.

    Where ``send(response, header)`` is the service's own ``send_response``; ``service``.
    """
    service.send_response = make(service.send_response)
    return service


_capture = threading.local()
_installed = threading.Lock()
_show_original = None


def _show(message, category, filename, lineno, file=None, line=None):
    """``warnings.showwarning`` that hands a capturing thread its warnings instead."""
    caught = getattr(_capture, 'caught', None)
    if caught is not None:
        caught.append(str(message))
        return
    _show_original(message, category, filename, lineno, file, line)


def _install():
    """
    Route warnings through :func:`_show` (once); never suppress a repeated undelivered reply.

    ``warnings.catch_warnings`` would do the capture but swaps process-wide state on
    every use, which is unsafe from several executor threads; a thread-local list is not.
    """
    global _show_original
    with _installed:
        if _show_original is None:
            _show_original = warnings.showwarning
            warnings.showwarning = _show
            warnings.filterwarnings('always', message=SEND_TIMEOUT_WARNING,
                                    category=RuntimeWarning)


def send_once(send: Callable, response, header) -> bool:
    """
    ``send(response, header)`` once.

    False when the middleware could not deliver the reply yet (the caller's reply reader is not
    matched). Other warnings raised meanwhile are warned again, other errors raised.
    """
    _install()
    _capture.caught = []
    try:
        send(response, header)
    except Exception as exc:  # Humble's rclpy raises RCLError for the same timeout
        if NOT_MATCHED not in str(exc):
            raise
        return False
    finally:
        caught, _capture.caught = _capture.caught, None
    undelivered = [text for text in caught if NOT_MATCHED in text]
    for text in caught:
        if text not in undelivered:
            warnings.warn(text, RuntimeWarning)
    return not undelivered
