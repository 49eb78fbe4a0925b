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

"""No silent duplicate: the node says loudly when another node on the graph has its full name."""

import os

__all__ = ['DuplicateWatch', 'same_name_count', 'DUPLICATE_HINT']

#: How often the node looks at the graph for a node of the same name, seconds.
LOOK_S = 2.0
DUPLICATE_HINT = ('a call to its services reaches each of them (each runs the cleanup); '
                  'give each its own namespace (namespace:=/robot2, cleanup_namespace:=/robot2 '
                  'for the wrapper, or --ros-args -r __ns:=/robot2)')


def same_name_count(node, full_name: str) -> int:
    """How many nodes on ``node``'s graph have the full name ``full_name`` (e.g. ``/cleanup``)."""
    count = 0
    for name, namespace in node.get_node_names_and_namespaces():
        if (namespace.rstrip('/') + '/' + name) == full_name:
            count += 1
    return count


class DuplicateWatch:
    """
    Look at the graph every few seconds.

    Log an error each time the number of nodes that share this node's full name grows above one.
    """

    def __init__(self, node):
        self._node = node
        self._told = 1
        self._timer = node.create_timer(LOOK_S, self._look)

    def _look(self):
        name = self._node.get_fully_qualified_name()
        count = same_name_count(self._node, name)
        if count > self._told:
            self._node.get_logger().error(
                f'{count} nodes named {name} are on the graph (this one is pid '
                f'{os.getpid()}): {DUPLICATE_HINT}')
        self._told = max(1, count)
