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
Which cleanup nodes a client sees, and when discovery has settled.

A cleanup node is recognised by the ``get_memory`` service it serves (its type, under its full
name), so a renamed or namespaced node is found. Only servers count: a client of
``/nope/get_memory`` (ours, while it waits) puts that name among the graph's services too.
"""

import difflib
import os
import time

__all__ = ['GET_MEMORY_TYPE', 'QUIET_S', 'GraphWatch', 'nearest', 'served_cleanup_nodes',
           'servers', 'started_as', 'starting_here']

GET_MEMORY_TYPE = 'expclean_interfaces/srv/GetMemoryUsage'
#: Discovery ends when the set of cleanup nodes has not changed for this long. Cleanup nodes
#: re-announce their participant every 0.25 s (ros/announce.py); measured (bench_cli_call.py,
#: docs/interface.md) the largest gap between a fresh client's first sightings of three nodes
#: was 1.0 s at most under load 6: 1.5x that.
QUIET_S = 1.5
#: A wrong name with a real one near it (``/robot1`` where ``/robot1/cleanup`` is seen) is
#: given up once the graph has been quiet this long: the user mistyped the name.
QUIET_GUESS_S = 0.5
#: A name with no near real one (``/robot2/cleanup`` beside ``/robot1/cleanup``) may be a node
#: whose participant re-announces itself at Fast DDS's default period (3 s: a user's own
#: profile), which a fresh client can miss until then: given up after this long quiet only.
QUIET_NO_GUESS_S = 3.5
#: A wrong name is given up only after this long since the client began.
MIN_GIVE_UP_S = 0.5
#: ... and not while a cleanup node started this recently on this machine may still come up.
STARTING_S = 15.0
_NODE_COMMANDS = ('cleanup_node', 'expclean_ros.ros.node')


def served_cleanup_nodes(node):
    """
    Return the sorted full names of the cleanup nodes on ``node``'s graph (servers only).

    A server reads the service's request topic (``rq/<service>Request`` in DDS), a client writes
    it: known as soon as the endpoints are discovered, before the nodes' names are.
    """
    candidates = {name[:-len('/get_memory')]
                  for name, types in node.get_service_names_and_types()
                  if GET_MEMORY_TYPE in types and name.endswith('/get_memory')}
    return sorted(full for full in candidates if servers(node, full))


def servers(node, full_name):
    """Return how many nodes on ``node``'s graph serve ``full_name``'s ``get_memory``."""
    return len(node.get_subscriptions_info_by_topic(f'rq{full_name}/get_memoryRequest',
                                                    no_mangle=True))


def starting_here(full_name, within_s=STARTING_S):
    """
    Return whether a cleanup node of ``full_name`` on our ROS domain started here lately.

    In the last ``within_s``: a node started just before a call (``make run &``, a launch) is
    waited for, not given up. Its name is read from its command line's remaps; processes whose
    environment cannot be read (other users) do not count.
    """
    import psutil
    now, domain = time.time(), os.environ.get('ROS_DOMAIN_ID', '').strip() or '0'
    for proc in psutil.process_iter(['cmdline', 'create_time']):
        cmdline = proc.info['cmdline'] or ()
        if now - (proc.info['create_time'] or 0) > within_s or not any(
                c in arg for arg in cmdline for c in _NODE_COMMANDS):
            continue
        if started_as(cmdline) != full_name:
            continue
        try:
            theirs = proc.environ().get('ROS_DOMAIN_ID', '').strip() or '0'
        except psutil.Error:
            continue
        if theirs == domain:
            return True
    return False


def started_as(cmdline):
    """
    Return the full name a cleanup node's command line gives it (its ``__ns``/``__node`` remaps).

    >>> started_as(['cleanup_node', '--ros-args', '-r', '__ns:=/robot1'])
    '/robot1/cleanup'
    >>> started_as(['cleanup_node'])
    '/cleanup'
    """
    namespace, base = '', 'cleanup'
    for arg in cmdline:
        if arg.startswith('__ns:='):
            namespace = '/' + arg[len('__ns:='):].strip('/')
        elif arg.startswith('__node:='):
            base = arg[len('__node:='):]
    return f'{namespace.rstrip("/")}/{base}'


def node_names(node):
    """Return the set of full names of the nodes on ``node``'s graph."""
    return {namespace.rstrip('/') + '/' + name
            for name, namespace in node.get_node_names_and_namespaces()}


def nearest(name, found):
    """
    Return the real cleanup node a user most likely meant by ``name``, or None.

    A node under ``name`` (the user gave the namespace only), or a near spelling of a name
    whose last part matches no node (a typo). A well-formed name in a namespace of its own
    (``/robot1/cleanup`` beside ``/robot2/cleanup``) has none: that node is to be started.

    >>> nearest('/robot1', ['/cleanup', '/robot1/cleanup'])
    '/robot1/cleanup'
    >>> nearest('/robot1/claenup', ['/cleanup', '/robot1/cleanup'])
    '/robot1/cleanup'
    >>> nearest('/robot2/cleanup', ['/cleanup', '/robot1/cleanup']) is None
    True
    """
    under = [f for f in found if f.startswith(name.rstrip('/') + '/')]
    if under:
        return under[0]
    if name.rpartition('/')[2] in {f.rpartition('/')[2] for f in found}:
        return None
    close = difflib.get_close_matches(name, found, n=1, cutoff=0.6)
    return close[0] if close else None


class GraphWatch:
    """
    The cleanup nodes a client sees, and how long that set has stayed the same.

    One per client, so that a verb that looked already (a wait for a service) does not wait for
    the graph to settle a second time.
    """

    def __init__(self, node):
        self._node = node
        self.start = time.monotonic()
        self.found, self.changed = None, self.start

    def look(self):
        """Read the graph; return the cleanup nodes seen."""
        found = served_cleanup_nodes(self._node)
        if found != self.found:
            self.found, self.changed = found, time.monotonic()
        return found

    def quiet_for(self):
        """Return the seconds for which the set of cleanup nodes has not changed."""
        return time.monotonic() - self.changed

    def missing(self, full_name, quiet_s=QUIET_GUESS_S):
        """
        Return whether node ``full_name`` is surely not on the graph.

        Other cleanup nodes are seen (so discovery works), none of them and no node at all has
        that name (a node whose service is not up yet is waited for), discovery has settled
        (quiet for ``quiet_s`` where a real name is near, e.g. ``/robot1/cleanup`` for
        ``/robot1``, else for QUIET_NO_GUESS_S), the client has looked for MIN_GIVE_UP_S at
        least, and no node of that name is starting on this machine (:func:`starting_here`).
        """
        found = self.look()
        if not found or full_name in found:
            return False
        if nearest(full_name, found) is None:
            quiet_s = QUIET_NO_GUESS_S
        return (self.quiet_for() >= quiet_s
                and time.monotonic() - self.start >= MIN_GIVE_UP_S
                and full_name not in node_names(self._node) and not starting_here(full_name))
