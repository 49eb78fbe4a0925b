"""rclpy client for cleanup nodes, with a private Context (used by the CLI and tests)."""

import os
import time

import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor

from .qos import LATCHED_QOS, SERVICE_QOS

__all__ = ['CleanupClient', 'ClientError', 'LATCHED_QOS', 'SERVICE_QOS']

GET_MEMORY_TYPE = 'expclean_interfaces/srv/GetMemoryUsage'
#: How often a client looks for its service while it waits for it to appear.
POLL_S = 0.01
#: Discovery of cleanup nodes ends when the graph has not changed for this long: longer
#: than the period at which every DDS participant re-announces itself (Fast DDS: 3 s),
#: since a participant can stay unseen until then. 1 s missed a node in 5 of 20 tries.
QUIET_S = 3.5


class ClientError(RuntimeError):
    """A call to a cleanup node did not get an answer (no node, timeout)."""


class CleanupClient:
    """Call cleanup nodes' services and read their topics.

    Owns a private rclpy Context, so it can live beside other rclpy users in one
    process. Use as a context manager::

        with CleanupClient() as client:
            response = client.call(Trigger, '/cleanup/quick', Trigger.Request())
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
        """A ready client for ``name``, created once and reused.

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
        """Whether the service appears within ``wait_s``, checked every 10 ms
        (rclpy's ``wait_for_service`` checks every 250 ms)."""
        deadline = time.monotonic() + wait_s
        while not client.service_is_ready():
            if time.monotonic() >= deadline:
                return False
            self._executor.spin_once(timeout_sec=POLL_S)
        return True

    def prepare(self, srv_type, name, wait_s):
        """Make the client for service ``name`` ready ahead of a call: create it and wait
        up to ``wait_s`` for the service. Return whether it is ready; a later
        :meth:`call` of ``name`` reuses it and, once ready, sends at once."""
        try:
            self._client(srv_type, name, wait_s)
        except ClientError:
            return False
        return True

    def spin_for(self, seconds):
        """Process callbacks (and discovery) for ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._executor.spin_once(timeout_sec=max(0.0, min(0.05, deadline - time.monotonic())))

    def _wait(self, futures, timeout_s):
        """Spin until every future is done or ``timeout_s`` passes, in short slices:
        rclpy installs no signal handler for a private context, so Ctrl-C is only
        seen between them."""
        deadline = time.monotonic() + timeout_s
        while any(not f.done() for f in futures) and time.monotonic() < deadline:
            self._executor.spin_once(timeout_sec=max(0.0, min(0.1, deadline - time.monotonic())))

    def call(self, srv_type, name, request, *, timeout_s=30.0, wait_s=5.0):
        """Call service ``name`` and return its response.

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
        """Call several services at once; return ``{name: response or ClientError}``.

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
        self._wait(pending, max(0.0, sent + timeout_s - time.monotonic()))
        for name, (client, future) in futures.items():
            if future.done():
                results[name] = future.result()
            else:
                client.remove_pending_request(future)
                results[name] = ClientError(f'no answer from {name} within {timeout_s:g} s')
        return results

    def parameters(self, node, names, *, wait_s=5.0):
        """Values of the parameters ``names`` of node ``node`` (full name) as a dict.

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

    def wait_for_message(self, msg_type, topic, *, timeout_s=5.0, qos=10):
        """Return the first message on ``topic`` within ``timeout_s``.

        :raises ClientError: nothing arrived in time.
        """
        received = []
        sub = self.node.create_subscription(msg_type, topic, received.append, qos)
        try:
            deadline = time.monotonic() + timeout_s
            while not received and time.monotonic() < deadline:
                self._executor.spin_once(timeout_sec=0.05)
            if not received:
                raise ClientError(f'no message on {topic} within {timeout_s:g} s')
            return received[0]
        finally:
            self.node.destroy_subscription(sub)

    def collect(self, msg_type, topic, *, duration_s, qos=10):
        """Return every message on ``topic`` during ``duration_s``, with receive times."""
        received = []
        sub = self.node.create_subscription(
            msg_type, topic, lambda m: received.append((time.monotonic(), m)), qos)
        try:
            deadline = time.monotonic() + duration_s
            while time.monotonic() < deadline:
                self._executor.spin_once(timeout_sec=0.05)
            return received
        finally:
            self.node.destroy_subscription(sub)

    def find_cleanup_nodes(self, *, timeout_s=10.0, quiet_s=QUIET_S, expect=0):
        """Return the sorted full names (``/ns/cleanup``) of the cleanup nodes on the graph.

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
