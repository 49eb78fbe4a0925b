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

"""One subscription of a long-lived client, kept for the client's life, and what it receives."""

import time

from rclpy.qos import DurabilityPolicy, QoSProfile

__all__ = ['Reader', 'qos_profile']


def qos_profile(qos):
    """``qos`` as a QoSProfile; an int is a history depth, as rclpy takes it."""
    return qos if isinstance(qos, QoSProfile) else QoSProfile(depth=qos)


class Reader:
    """
    Keeps the latest message of one subscription and feeds the windows listening to it.

    Messages arrive while the client's executor spins (in any of its calls);
    nothing is stored but the latest one, and, for each open window, what
    arrived while it was open.

    :param node: the client's node.
    :param msg_type: the message type.
    :param topic: the topic name.
    :param qos: the subscription's QoSProfile.
    :param on_message: called with no argument after each message (the client counts them).
    """

    def __init__(self, node, msg_type, topic, qos, on_message):
        self.msg_type = msg_type
        self.topic = topic
        self.qos = qos
        #: A transient-local writer sends its held samples to a new reader.
        self.latched = qos.durability == DurabilityPolicy.TRANSIENT_LOCAL
        #: ``(monotonic receive time, message)`` of the latest message, or None.
        self.latest = None
        self._windows = []
        self._on_message = on_message
        self.subscription = node.create_subscription(msg_type, topic, self._receive, qos)

    def matches(self, msg_type, topic, qos):
        return (self.msg_type, self.topic) == (msg_type, topic) and self.qos == qos

    def _receive(self, msg):
        entry = (time.monotonic(), msg)
        self.latest = entry
        for window in self._windows:
            window.append(entry)
        self._on_message()

    def open_window(self):
        """Return a list that gets ``(receive time, message)`` of each message until closed."""
        window = []
        self._windows.append(window)
        return window

    def close_window(self, window):
        self._windows = [w for w in self._windows if w is not window]
