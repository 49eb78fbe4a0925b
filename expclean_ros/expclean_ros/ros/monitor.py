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
The node's monitoring: ``~/memory`` and ``/diagnostics``, each on its own timer.

``~/memory`` carries every reading at ``publish_rate``; ``/diagnostics`` runs at
``diagnostics.rate_hz`` (1 Hz, as diagnostic_updater) and judges the mean of the
last ``diagnostics.window`` readings, so a one-off spike does not flip the level.
"""

import threading

from diagnostic_msgs.msg import DiagnosticArray
from expclean_interfaces.msg import MemoryUsage
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup

from expclean_ros.ros import messages
from expclean_ros.ros import diagnostics
from expclean_ros.core.memory import probes

__all__ = ['Monitor']

_RATES = ('publish_rate', 'diagnostics.rate_hz')


class Monitor:
    """Publishers and timers of one node's memory topic and diagnostics."""

    def __init__(self, node, values):
        self._node = node
        self._group = MutuallyExclusiveCallbackGroup()
        self._lock = threading.Lock()
        self._memory_pub = node.create_publisher(MemoryUsage, '~/memory', 10)
        self._diag_pub = node.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self._timers = {}
        self._window = diagnostics.Window(values['diagnostics.window'])
        self.values = {}
        self.apply(values)

    def apply(self, values):
        """Take new parameter values: re-rate the timers whose rate changed (0 stops one)."""
        callbacks = dict(zip(_RATES, (self._publish_memory, self._publish_diagnostics)))
        with self._lock:
            old, self.values = self.values, values
            self._window.resize(values['diagnostics.window'])
            for key in _RATES:
                if old.get(key) == values[key]:
                    continue
                timer = self._timers.pop(key, None)
                if timer is not None:
                    self._node.destroy_timer(timer)
                if values[key] > 0:
                    self._timers[key] = self._node.create_timer(
                        1.0 / values[key], callbacks[key], callback_group=self._group)

    def _snapshot(self, **kwargs):
        try:
            return probes.take_snapshot(**kwargs)
        except Exception as exc:  # a probe failure must not stop the timer
            self._node.get_logger().error(f'memory snapshot failed: {exc}',
                                          throttle_duration_sec=60)
            return None

    def _publish_memory(self):
        snapshot = self._snapshot()
        if snapshot is not None:
            self._memory_pub.publish(
                messages.memory_usage(snapshot, self._node.get_clock().now().to_msg()))

    def _publish_diagnostics(self):
        snapshot = self._snapshot(include_dds_shm=False)
        if snapshot is None:
            return
        smoothed = self._window.add(snapshot)
        self._diag_pub.publish(messages.diagnostics(
            diagnostics.assess(smoothed, self.values), self._node.get_name(),
            self._node.get_clock().now().to_msg()))
