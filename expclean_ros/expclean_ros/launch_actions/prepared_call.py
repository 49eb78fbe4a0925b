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

"""A cleanup call made ready ahead of time, off launch's event loop."""

import asyncio
import concurrent.futures
import itertools
import queue
import threading
import time
from typing import Tuple

from launch.logging import get_logger

__all__ = ['PreparedCall']

#: One look for the service waits this long, then checks whether the call is wanted now.
_LOOK_S = 0.2
#: While it looks, the worker sees a wanted call within this time (the call waits for it).
_WAKE_S = 0.02
#: After the service is found, how long to look for a second node of the same name.
_DUPLICATE_LOOK_S = 5.0
_NUMBERS = itertools.count(1)  # one ROS node name per client in this process


class PreparedCall:
    """
    ``<node>/<plan>`` (std_srvs/Trigger) with its client made ready ahead of the call.

    Creating it starts a worker thread that creates a private rclpy context,
    node and service client (once: :meth:`made` says when) and waits for the
    service, so DDS discovery is done while the experiment runs, and launch's
    event loop never waits for it. It logs ``cleanup call <node>/<plan> ready`` once the service is
    found. :meth:`call` then sends the request at once; :meth:`close`
    destroys the client and its DDS participant. Every rclpy use of the
    client happens in that one thread.

    launch_ros's own node (``launch_ros.ros_adapters.get_ros_node``) is not
    used: launch_ros shuts it down in an ``OnShutdown`` handler, so it is gone
    when a teardown waiting for shutdown makes its call.

    :param node: the cleanup node's full name.
    :param plan: ``quick`` or ``comprehensive``.
    :param timeout_s: how long the call waits for the answer.
    """

    def __init__(self, node: str, plan: str, timeout_s: float):
        self.node = node
        self.plan = plan
        self.timeout_s = timeout_s
        self._service = f'{node}/{plan}'
        self._wanted = threading.Event()  # the call (or close) is wanted: stop looking
        self._jobs = queue.SimpleQueue()
        self._client = None
        self._error = ''
        self._closed = None
        self._name = f'expclean_launch_{next(_NUMBERS)}'
        # a daemon: a launch that ends without close() must still be able to exit
        threading.Thread(target=self._work, name='expclean_call', daemon=True).start()
        self._made = self._submit(self._make)
        self._submit(self._look)

    def made(self) -> concurrent.futures.Future:
        """
        Return a future done once the client's DDS entities exist (or failed to).

        Await it (``asyncio.wrap_future``) before stopping processes the client may have matched.
        """
        return self._made

    async def call(self) -> Tuple[bool, str]:
        """Ask the node for its plan: ``(success, message)``; never raises."""
        if self._closed is not None:
            return False, 'the cleanup call was closed before it was made'
        self._wanted.set()
        return await asyncio.wrap_future(self._submit(self._call))

    def call_sync(self) -> Tuple[bool, str]:
        """:meth:`call` from a thread other than the worker's: blocks until the answer."""
        if self._closed is not None:
            return False, 'the cleanup call was closed before it was made'
        self._wanted.set()
        return self._submit(self._call).result()

    def close(self) -> concurrent.futures.Future:
        """
        Destroy the client and end the worker, after any call already asked for.

        Returns a future done once closed (``asyncio.wrap_future`` to await it);
        a second close returns the same future.
        """
        if self._closed is None:
            self._wanted.set()
            self._closed = self._submit(self._close)
            self._jobs.put(None)
        return self._closed

    def _submit(self, work) -> concurrent.futures.Future:
        future = concurrent.futures.Future()
        self._jobs.put((future, work))
        return future

    def _work(self):
        while True:
            job = self._jobs.get()
            if job is None:
                return
            future, work = job
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(work())
                except BaseException as exc:  # kept in the future, for whoever awaits it
                    future.set_exception(exc)

    def _make(self):
        """Return the client's entities, made once, before anything else is asked of it."""
        try:
            from std_srvs.srv import Trigger

            from ..ros.announce import own_participant
            from ..ros.client import CleanupClient
            # made before the node: the node finds it when it re-announces itself
            with own_participant():
                self._client = CleanupClient(name=self._name, args=[])  # not launch's argv
            self._client.prepare(Trigger, self._service, 0.0)
        except Exception as exc:  # rclpy failing: the call reports it
            self._error = f'{type(exc).__name__}: {exc}'

    def _look(self):
        """Wait for the service until it is found or the call (or close) is wanted."""
        if self._client is None:
            return
        try:
            from std_srvs.srv import Trigger
            while not self._wanted.is_set():
                if self._client.prepare(Trigger, self._service, _WAKE_S):
                    get_logger('expclean').info(f'cleanup call {self._service} ready')
                    self._say_duplicates()
                    return
        except Exception as exc:
            self._error = f'{type(exc).__name__}: {exc}'

    def _say_duplicates(self):
        """
        Warn when more nodes than one have the cleanup node's name: the call reaches all.

        Discovery of a second one may come later: look for a few seconds more.
        """
        from ..ros.duplicate_watch import DUPLICATE_HINT, same_name_count
        deadline = time.monotonic() + _DUPLICATE_LOOK_S
        while not self._wanted.is_set() and time.monotonic() < deadline:
            count = same_name_count(self._client.node, self.node)
            if count > 1:
                get_logger('expclean').warning(
                    f'{count} nodes named {self.node} are on the graph: {DUPLICATE_HINT}')
                return
            self._spin_until_wanted(_LOOK_S)

    def _spin_until_wanted(self, seconds):
        """Spin the client for ``seconds`` in short slices; return once the call is wanted."""
        end = time.monotonic() + seconds
        while not self._wanted.is_set() and time.monotonic() < end:
            self._client.spin_for(_WAKE_S)

    def _call(self) -> Tuple[bool, str]:
        if self._client is None:
            return False, self._error or 'no client'
        try:
            from std_srvs.srv import Trigger
            response = self._client.call(Trigger, self._service, Trigger.Request(),
                                         timeout_s=self.timeout_s)
        except Exception as exc:  # no node, no answer: a result, not a crash
            return False, f'{type(exc).__name__}: {exc}'
        return bool(response.success), response.message

    def _close(self):
        client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception as exc:
                get_logger('expclean').warning(f'closing the cleanup client: {exc!r}')
