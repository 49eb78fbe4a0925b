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

from .client_errors import ClientError, NoSuchNode
from .client_topics import TopicReading
from .discovery import GraphWatch, QUIET_S
from .qos import LATCHED_QOS, SERVICE_QOS

__all__ = ['CleanupClient', 'ClientError', 'NoSuchNode', 'LATCHED_QOS', 'SERVICE_QOS']

#: How often a client looks for its service while it waits for it to appear.
POLL_S = 0.01


class CleanupClient(TopicReading):
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
        self._graph = GraphWatch(self.node)

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
        client = self.make_client(srv_type, name)
        if client.service_is_ready():
            return client
        node = name.rpartition('/')[0]
        if not self._wait_for_service(client, node, wait_s):
            domain = os.environ.get('ROS_DOMAIN_ID', '0')
            if self._graph.found and node not in self._graph.found:
                raise NoSuchNode(f'no service {name}: no node {node} on ROS_DOMAIN_ID={domain} '
                                 f'once discovery settled.', node, self._graph.found)
            raise ClientError(
                f'no service {name} within {wait_s:g} s: is the cleanup node '
                f'running on ROS_DOMAIN_ID={domain}?')
        return client

    def make_client(self, srv_type, name):
        """
        Return the client for service ``name``, made now (without waiting for it) or before.

        Made as soon as a node is found, it matches the service while discovery goes on.
        """
        key = (srv_type, name)
        if key not in self._clients:
            self._clients[key] = self.node.create_client(srv_type, name, qos_profile=SERVICE_QOS)
        return self._clients[key]

    def _wait_for_service(self, client, node, wait_s):
        """
        Return whether the service appears within ``wait_s``, checked every 10 ms.

        rclpy's ``wait_for_service`` checks every 250 ms. Gives up early once discovery has
        settled without a node of that name (GraphWatch.missing), looking every 0.1 s.
        """
        looked = [0.0]

        def done():
            if client.service_is_ready():
                return True
            now = time.monotonic()
            if now - looked[0] < 0.1:
                return False
            looked[0] = now
            return self._graph.missing(node)
        return self._spin_until(done, wait_s, POLL_S) and client.service_is_ready()

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

    def spin_until(self, done, timeout_s):
        """Process callbacks (and discovery) until ``done()`` or ``timeout_s``; return done()."""
        return self._spin_until(done, timeout_s, POLL_S)

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

    def find_cleanup_nodes(self, *, timeout_s=10.0, quiet_s=QUIET_S, expect=0, on_found=None,
                           settle=False):
        """
        Return the sorted full names (``/ns/cleanup``) of the cleanup nodes on the graph.

        Discovery takes a while, and more on a loaded machine: rather than looking for a fixed
        time, wait until the set of cleanup nodes has not changed for ``quiet_s`` (at least one
        seen), or, with ``expect``, until that many are seen (``settle``: and then quiet too);
        give up after ``timeout_s`` and return what was found. Only nodes that serve
        ``get_memory`` count (ros/discovery.py). The client's graph watch is kept: a second look
        does not wait out the quiet window again. ``on_found(name)`` is called once for each
        node as it is found (e.g. to make its client).
        """
        deadline = time.monotonic() + timeout_s
        told = set()
        while True:
            found = self._graph.look()
            for name in found:
                if on_found is not None and name not in told:
                    told.add(name)
                    on_found(name)
            quiet = bool(found) and self._graph.quiet_for() >= quiet_s
            done = len(found) >= expect and (quiet or not settle) if expect else quiet
            if done or time.monotonic() >= deadline:
                return found
            self._executor.spin_once(timeout_sec=0.05)
