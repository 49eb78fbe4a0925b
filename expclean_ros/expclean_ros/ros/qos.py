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

"""QoS profiles shared by the cleanup node and its clients."""

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

__all__ = ['LATCHED_QOS', 'SERVICE_QOS', 'SERVICE_QUEUE_DEPTH']

# ~/report is transient-local so that a late subscriber still gets the last report.
LATCHED_QOS = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                         reliability=ReliabilityPolicy.RELIABLE)


# Services keep up to this many requests (and replies) queued: a burst of callers is
# answered in full, each at once ("busy: ..." while a cleanup runs), never dropped.
# The rmw default is 10: an eleventh simultaneous caller was never answered.
SERVICE_QUEUE_DEPTH = 1000
SERVICE_QOS = QoSProfile(depth=SERVICE_QUEUE_DEPTH, history=HistoryPolicy.KEEP_LAST,
                         reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.VOLATILE)
