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

"""What the verbs that talk to cleanup nodes share: the client, discovery, calls, their errors."""

import os
import sys

from expclean_ros.cli.main import CliError, own_stdout
from expclean_ros.cli.names import start_command

__all__ = ['ros_client', 'find_nodes', 'call_service', 'call_error', 'cleanup_timeout']

#: After discovery, at most this long for the found nodes' names (to count duplicates).
NAMES_S = 1.0


def ros_client():
    """Return a CleanupClient for a verb; refuse a ROS_DOMAIN_ID Fast DDS would exit on."""
    from expclean_ros.ros.client import CleanupClient
    from expclean_ros.core.ros_domain import MAX_DOMAIN_ID, parse_domain_id
    domain = os.environ.get('ROS_DOMAIN_ID', '').strip()
    number = parse_domain_id(domain)  # None (no number): rcl refuses it, saying so
    if number is not None and number > MAX_DOMAIN_ID:  # Fast DDS would exit the process
        raise CliError(f'ROS_DOMAIN_ID must be between 0 and {MAX_DOMAIN_ID}, got {domain}')
    own_stdout()  # Fast DDS's console errors go to stderr, never into our output
    return CleanupClient(name='expclean_cli')


def find_nodes(client, args, service=None, settle=False):
    """
    Return the cleanup nodes on the graph (see CleanupClient.find_cleanup_nodes).

    Error if none. ``service``: (type, name under the node) whose client is made as soon as a
    node is found, so that it matches while discovery goes on. ``settle``: once ``--expect``
    nodes are found, wait for the quiet window too (a list, unlike a call, is worth the wait for
    a late or same-named node). Warns of a name that more than one node has.
    """
    def on_found(node):
        if service is not None:
            client.make_client(service[0], f'{node}/{service[1]}')
    found = client.find_cleanup_nodes(timeout_s=args.wait, expect=args.expect, on_found=on_found,
                                      settle=settle)
    if not found:
        raise CliError(f'no cleanup node found on the graph within {args.wait:g} s '
                       f'(same ROS_DOMAIN_ID={os.environ.get("ROS_DOMAIN_ID", "0")}?); '
                       f'start one with: {start_command()}')
    _warn_duplicates(client, found)
    return found


def _warn_duplicates(client, found):
    """Warn of each name in ``found`` that more than one node has (servers, or node names)."""
    from expclean_ros.ros.discovery import node_names, servers
    from expclean_ros.ros.duplicate_watch import DUPLICATE_HINT, same_name_count
    # nodes' names come after their services (each participant's list): wait for them, briefly
    client.spin_until(lambda: set(found) <= node_names(client.node), NAMES_S)
    for name in found:
        count = max(same_name_count(client.node, name), servers(client.node, name))
        if count > 1:
            print(f'warning: {count} nodes named {name} are on the graph: {DUPLICATE_HINT}',
                  file=sys.stderr)


def call_service(client, srv_type, name, request, timeout_s):
    """Call service ``name`` of a cleanup node; a CliError saying what to do if no answer."""
    from expclean_ros.ros.client import ClientError
    try:
        return client.call(srv_type, name, request, timeout_s=timeout_s)
    except ClientError as exc:
        raise call_error(client, name.rpartition('/')[0], exc) from None


def call_error(client, node, exc):
    """
    Return the error of a call to ``node`` that got no answer.

    Where the node is not on the graph: the cleanup nodes that are (never ``node`` itself), the
    nearest of them ("did you mean"), or how to start ``node``.
    """
    from expclean_ros.ros.discovery import nearest
    if not str(exc).startswith('no service'):
        return CliError(str(exc))
    seen = [n for n in getattr(exc, 'seen', None)
            or client.find_cleanup_nodes(timeout_s=1.0, quiet_s=0.5) if n != node]
    guess = nearest(node, seen)
    hint = (f'did you mean {guess}?' if guess
            else f'start {node} with: {start_command(node)}')
    return CliError(f'{exc} Cleanup nodes seen: {", ".join(seen) or "none"}; {hint}')


def cleanup_timeout(client, args, nodes, plan, wait_s=None):
    """
    Return ``--timeout``, or a function reading the longest cleanup the nodes allow.

    The function reads the nodes' parameters (defaults if unread); ``CleanupClient.call_many``
    calls it while the call is out.
    """
    if args.timeout is not None:
        return args.timeout

    def longest():
        from expclean_ros.ros.client import ClientError
        from expclean_ros.ros.parameters import DEFAULTS, longest_cleanup_s
        most = 0.0
        for node in nodes:
            try:
                values = client.parameters(node, sorted(DEFAULTS))
            except ClientError:  # an old node, or parameter services off: the defaults
                values = {}
            most = max(most, longest_cleanup_s(values, plan, wait_s))
        return most
    return longest
