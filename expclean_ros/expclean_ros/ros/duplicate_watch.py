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
One node per name.

At start-up, before it serves, a cleanup node that finds another node of its full name on the
graph exits with an error (:func:`refuse_if_taken`): the node that was there first keeps
serving. Two started at the same moment can both miss each other: then each says so loudly,
every time the number grows (:class:`DuplicateWatch`).
"""

import os
import time

__all__ = ['DuplicateWatch', 'NameTaken', 'refuse_if_taken', 'same_name_count', 'DUPLICATE_HINT',
           'ALLOW_VARIABLE']

#: How often the node looks at the graph for a node of the same name, seconds.
LOOK_S = 2.0
#: At start-up, look this long at most for a node of the same name. A running cleanup node
#: re-announces itself every 0.25 s (ros/announce.py): a fresh participant saw each of three
#: within 1.0 s at most, under load 6 (bench_cli_call.py); the same window as discovery.QUIET_S.
CHECK_S = 1.5
#: ... and stop looking earlier once other nodes are seen and the graph has stayed the same this
#: long (their participants' node lists come whole: a duplicate would be among them).
SETTLED_S = 0.5
#: Set to 1, a node starts beside another of its name (the tests of the warning below).
ALLOW_VARIABLE = 'EXPCLEAN_ALLOW_DUPLICATE_NAME'
DUPLICATE_HINT = ('a call to its services reaches each of them (each runs the cleanup); '
                  'give each its own namespace (namespace:=/robot2, cleanup_namespace:=/robot2 '
                  'for the wrapper, or --ros-args -r __ns:=/robot2)')


def same_name_count(node, full_name: str) -> int:
    """How many nodes on ``node``'s graph have the full name ``full_name`` (e.g. ``/cleanup``)."""
    return _full_names(node).count(full_name)


class NameTaken(ValueError):
    """Another node of this node's full name is already on the graph."""


def refuse_if_taken(node, check_s=CHECK_S, settled_s=SETTLED_S):
    """
    Raise NameTaken when another node on the graph has ``node``'s full name.

    Looks until one is seen, or for ``check_s`` at most, or until the graph, with other nodes
    on it, has not changed for ``settled_s``. Graph queries need no spinning: the middleware
    keeps the graph up to date in threads of its own. Before it raises, ``node`` is destroyed
    as the rclpy Node it is so far (it leaves the graph at once, and rclpy's shutdown does not
    destroy a half-made subclass).
    """
    if os.environ.get(ALLOW_VARIABLE) == '1':
        return
    name = node.get_fully_qualified_name()
    start = time.monotonic()
    seen, changed = None, start
    while True:
        names = sorted(n for n in _full_names(node))
        if names.count(name) > 1:
            from rclpy.node import Node
            Node.destroy_node(node)
            raise NameTaken(taken_message(name))
        now = time.monotonic()
        if names != seen:
            seen, changed = names, now
        if now - start >= check_s or (len(names) > 1 and now - changed >= settled_s):
            return
        time.sleep(0.02)


def taken_message(name):
    """Return the error of a node whose name ``name`` another node has."""
    namespace = '/robot2'
    domain = os.environ.get('ROS_DOMAIN_ID', '0')
    return (f'another node named {name} is already on the graph (ROS_DOMAIN_ID={domain}): it '
            f'keeps serving, this one (pid {os.getpid()}) exits without serving. Give this one '
            f'a namespace of its own, e.g. make run ARGS="--ros-args -r __ns:={namespace}", '
            f'cleanup_node --ros-args -r __ns:={namespace}, or ros2 launch expclean_ros '
            f'cleanup.launch.py namespace:={namespace}; `expclean nodes` lists the names taken')


def _full_names(node):
    return [namespace.rstrip('/') + '/' + base
            for base, namespace in node.get_node_names_and_namespaces()]


class DuplicateWatch:
    """
    Look at the graph every few seconds.

    Log an error each time the number of nodes that share this node's full name grows above one
    and stays so on two looks in a row: a node of the same name that refuses to serve at its
    start-up (:func:`refuse_if_taken`) is gone by then and is not worth an error here.
    """

    def __init__(self, node):
        self._node = node
        self._told = self._last = 1
        self._timer = node.create_timer(LOOK_S, self._look)

    def _look(self):
        name = self._node.get_fully_qualified_name()
        count = same_name_count(self._node, name)
        last, self._last = self._last, count
        if count > 1 and last < count:  # grown since the last look: wait for the next one
            return
        if count > self._told:
            self._node.get_logger().error(
                f'{count} nodes named {name} are on the graph (this one is pid '
                f'{os.getpid()}): {DUPLICATE_HINT}')
        self._told = max(1, count)
