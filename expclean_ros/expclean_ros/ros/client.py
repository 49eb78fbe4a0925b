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

"""rclpy client for cleanup nodes, with a private Context (used by the CLI and tests)."""

import os
import time

import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor

from .qos import LATCHED_QOS, SERVICE_QOS
from .reader import Reader, qos_profile

__all__ = ['CleanupClient', 'ClientError', 'LATCHED_QOS', 'SERVICE_QOS']

GET_MEMORY_TYPE = 'expclean_interfaces/srv/GetMemoryUsage'
#: How often a client looks for its service while it waits for it to appear.
POLL_S = 0.01
#: Discovery of cleanup nodes ends when the graph has not changed for this long: longer
#: than the period at which every DDS participant re-announces itself (Fast DDS: 3 s),
#: since a participant can stay unseen until then (a shorter window misses nodes).
QUIET_S = 3.5
#: At most this many turns of the executor take what subscriptions hold before a wait.
DRAIN_TURNS = 1000


class ClientError(RuntimeError):
    """A call to a cleanup node did not get an answer (no node, timeout)."""


class CleanupClient:
    """
    Call cleanup nodes' services and read their topics.

    Owns a private rclpy Context, so it can live beside other rclpy users in one
    process. Use as a context manager::

        with CleanupClient() as client:
            response = client.call(Trigger, '/cleanup/quick', Trigger.Request())

    Every service client and subscription is made once, on first use or ahead
    of it (:meth:`prepare`, :meth:`subscribe`), and reused for the client's
    life. Make them before the nodes you watch come and go, and close the
    client before stopping the nodes it talks to: Fast DDS 3.2 can hang a
    participant that creates or deletes an entity while a peer it has matched
    leaves (eProsima/Fast-DDS#6502).
    """

    def __init__(self, *, name='expclean_client', args=None):
        self._context = Context()
        rclpy.init(args=args, context=self._context)
        self.node = rclpy.create_node(
            f'{name}_{os.getpid()}', context=self._context,
            start_parameter_services=False)
        self._executor = SingleThreadedExecutor(context=self._context)
        self._executor.add_node(self.node)
        self._clients = {}
        self._readers = []
        self._received = 0  # messages taken by every reader, for _drain

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Destroy the node and shut the private context down."""
        self._executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self._context)

    def _client(self, srv_type, name, wait_s):
        """
        Return a ready client for ``name``, created once and reused.

        Calls as soon as the service is seen: if the node has not matched our
        reply reader yet, it re-sends the reply until it has (ros/replies.py).
        """
        key = (srv_type, name)
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = self.node.create_client(
                srv_type, name, qos_profile=SERVICE_QOS)
        elif client.service_is_ready():
            return client
        if not self._wait_for_service(client, wait_s):
            raise ClientError(
                f'no service {name} within {wait_s:g} s: is the cleanup node '
                f'running on ROS_DOMAIN_ID={os.environ.get("ROS_DOMAIN_ID", "0")}?')
        return client

    def _wait_for_service(self, client, wait_s):
        """
        Return whether the service appears within ``wait_s``, checked every 10 ms.

        rclpy's ``wait_for_service`` checks every 250 ms.
        """
        return self._spin_until(client.service_is_ready, wait_s, POLL_S)

    def _spin_until(self, done, timeout_s, slice_s=0.05):
        """
        Spin in slices of ``slice_s`` until ``done()`` or ``timeout_s`` passes; return ``done()``.

        rclpy installs no signal handler for a private context, so Ctrl-C is only seen between
        slices.
        """
        deadline = time.monotonic() + timeout_s
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._executor.spin_once(timeout_sec=min(slice_s, left))
        return True

    def prepare(self, srv_type, name, wait_s):
        """
        Make the client for service ``name`` ready ahead of a call.

        Create it and wait up to ``wait_s`` for the service. Return whether it is ready; a later
        :meth:`call` of ``name`` reuses it and, once ready, sends at once.
        """
        try:
            self._client(srv_type, name, wait_s)
        except ClientError:
            return False
        return True

    def spin_for(self, seconds):
        """Process callbacks (and discovery) for ``seconds``."""
        self._spin_until(lambda: False, seconds)

    def call(self, srv_type, name, request, *, timeout_s=30.0, wait_s=5.0):
        """
        Call service ``name`` and return its response.

        :param wait_s: how long to wait for the service to appear.
        :param timeout_s: how long to wait for the answer once sent (see :meth:`call_many`).
        :raises ClientError: no such service within ``wait_s`` or no answer.
        """
        answer = self.call_many(srv_type, [name], lambda: request,
                                timeout_s=timeout_s, wait_s=wait_s)[name]
        if isinstance(answer, ClientError):
            raise answer
        return answer

    def call_many(self, srv_type, names, make_request, *, timeout_s=60.0, wait_s=5.0):
        """
        Call several services at once; return ``{name: response or ClientError}``.

        :param timeout_s: seconds to wait for the answers once sent; or a function
            returning them, called after the requests are out (so that, e.g., reading
            the node's parameters for a timeout overlaps the call instead of
            delaying it), and only if an answer is still missing.
        """
        futures, results = {}, {}
        deadline = time.monotonic() + wait_s
        for name in names:
            try:
                client = self._client(srv_type, name, max(0.0, deadline - time.monotonic()))
            except ClientError as exc:
                results[name] = exc
                continue
            futures[name] = (client, client.call_async(make_request()))
        sent = time.monotonic()
        pending = [f for _, f in futures.values()]
        if callable(timeout_s):
            timeout_s = timeout_s() if any(not f.done() for f in pending) else 0.0
        self._spin_until(lambda: all(f.done() for f in pending),
                         max(0.0, sent + timeout_s - time.monotonic()), 0.1)
        for name, (client, future) in futures.items():
            if future.done():
                results[name] = future.result()
            else:
                client.remove_pending_request(future)
                results[name] = ClientError(f'no answer from {name} within {timeout_s:g} s')
        return results

    def parameters(self, node, names, *, wait_s=5.0):
        """
        Values of the parameters ``names`` of node ``node`` (full name) as a dict.

        Parameters the node does not have are left out.
        :raises ClientError: no answer.
        """
        from rcl_interfaces.msg import ParameterType
        from rcl_interfaces.srv import GetParameters
        from rclpy.parameter import parameter_value_to_python
        response = self.call(GetParameters, f'{node}/get_parameters',
                             GetParameters.Request(names=list(names)),
                             timeout_s=wait_s, wait_s=wait_s)
        return {name: parameter_value_to_python(value)
                for name, value in zip(names, response.values)
                if value.type != ParameterType.PARAMETER_NOT_SET}

    def subscribe(self, msg_type, topic, qos=10):
        """
        Make the subscription to ``topic`` now, once, and return it.

        :meth:`wait_for_message` and :meth:`collect` with the same type, topic
        and QoS (a depth or a QoSProfile) reuse it; from now on the client keeps
        the latest message it receives there.
        """
        return self._reader(msg_type, topic, qos).subscription

    def _reader(self, msg_type, topic, qos):
        qos = qos_profile(qos)
        for reader in self._readers:
            if reader.matches(msg_type, topic, qos):
                return reader
        reader = Reader(self.node, msg_type, topic, qos, self._count)
        self._readers.append(reader)
        return reader

    def _count(self):
        self._received += 1

    def _drain(self):
        """
        Take what the subscriptions hold already, so that a wait starts after it.

        Turn the executor without waiting until twice in a row no message came.
        """
        idle = 0
        for _ in range(DRAIN_TURNS):
            before = self._received
            self._executor.spin_once(timeout_sec=0.0)
            idle = idle + 1 if self._received == before else 0
            if idle == 2:
                return

    def wait_for_message(self, msg_type, topic, *, timeout_s=5.0, qos=10):
        """
        Return the first message on ``topic`` received after this call began.

        On a transient-local topic (e.g. ``qos=LATCHED_QOS``) the latest message
        held is returned at once: the latest this client has received there, or
        the first to come (on a new subscription, the writer's held sample).
        The subscription is made on the first call and reused (:meth:`subscribe`).

        :raises ClientError: nothing arrived in time.
        """
        reader = self._reader(msg_type, topic, qos)
        self._drain()
        if reader.latched and reader.latest is not None:
            return reader.latest[1]
        window = reader.open_window()
        try:
            self._spin_until(lambda: window, timeout_s)
        finally:
            reader.close_window(window)
        if not window:
            raise ClientError(f'no message on {topic} within {timeout_s:g} s')
        return window[0][1]

    def collect(self, msg_type, topic, *, duration_s, qos=10):
        """
        Return ``[(receive time, message)]`` for the messages on ``topic``.

        Those received during the next ``duration_s`` (monotonic times; messages held from before
        are not included). The subscription is reused as in :meth:`wait_for_message`.
        """
        reader = self._reader(msg_type, topic, qos)
        self._drain()
        window = reader.open_window()
        try:
            self.spin_for(duration_s)
        finally:
            reader.close_window(window)
        return window

    def find_cleanup_nodes(self, *, timeout_s=10.0, quiet_s=QUIET_S, expect=0):
        """
        Return the sorted full names (``/ns/cleanup``) of the cleanup nodes on the graph.

        Discovery takes a while, and more on a loaded machine: rather than
        looking for a fixed time, wait until the set of cleanup nodes has not
        changed for ``quiet_s``, with at least ``expect`` of them (and at least
        one) seen; give up after ``timeout_s`` and return what was found. A
        cleanup node is recognised by its ``get_memory`` service type, so a
        renamed or namespaced node is found.
        """
        start = time.monotonic()
        deadline = start + timeout_s
        seen, changed = None, start
        while True:
            found = sorted({name[:-len('/get_memory')]
                            for name, types in self.node.get_service_names_and_types()
                            if GET_MEMORY_TYPE in types and name.endswith('/get_memory')})
            now = time.monotonic()
            if found != seen:
                seen, changed = found, now
            enough = len(found) >= max(1, expect)
            if (enough and now - changed >= quiet_s) or now >= deadline:
                return found
            self._executor.spin_once(timeout_sec=0.05)
