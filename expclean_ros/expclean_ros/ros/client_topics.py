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

"""A client's subscriptions: made once, kept for its life, read in windows."""

from .client_errors import ClientError
from .reader import Reader, qos_profile

__all__ = ['TopicReading']

#: At most this many turns of the executor take what subscriptions hold before a wait.
DRAIN_TURNS = 1000


class TopicReading:
    """
    The topic half of CleanupClient (a mixin).

    Needs ``self.node``, ``self._executor``, ``self._readers``, ``self._received``,
    ``self._spin_until`` and ``self.spin_for`` from the client.
    """

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
