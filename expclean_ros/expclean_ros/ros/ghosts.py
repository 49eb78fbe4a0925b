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
No ghost nodes: a ROS 2 daemon that still lists a torn-down run's nodes is restarted.

The daemon of ros2cli (``ros2 node list`` and friends ask it) keeps a node
that was killed for the length of its DDS lease (about 20 s with Fast DDS):
the next run's readiness check would pass on a dead node. :class:`GhostWatch`
reads the daemon's node list before a run and again just before its teardown.
The daemon names nodes only (no pid, and a dead node's name can equal a live
one's, or an older ghost's), so it cannot tell a dead node of the run from a
live one of the same name: after the teardown, a daemon that still lists any
node it listed while the run lived is stopped through ros2cli's own API
(``system.shutdown``, as ``ros2 daemon stop`` does: never a signal). The next
``ros2`` call starts a fresh daemon, which sees live nodes only; a live node
outside the run costs that call a fresh discovery, nothing more. The report
names first the nodes listed more often than before the run (the run's).

Only the daemon of our own ``ROS_DOMAIN_ID`` is addressed (ros2cli's rule: its
port is 11511 + the domain). Without ros2cli the step is skipped with the reason.
"""

import argparse
import collections
import importlib.util
import threading
import time
from typing import Counter, Optional

from expclean_ros.core.runs.end_of_run import DAEMON_STEP
from expclean_ros.core.step_result import OK, SKIPPED, StepResult

__all__ = ['GhostWatch', 'STEP_NAME', 'missing_reason']

STEP_NAME = DAEMON_STEP
STOP_TIMEOUT_S = 10.0


def missing_reason() -> str:
    """Why the daemon cannot be reached through ros2cli here, or ''."""
    if importlib.util.find_spec('ros2cli') is None:
        return 'ros2cli not installed (no ros2 command: no daemon to restart)'
    return ''


def _names(node) -> Counter:
    out: Counter = collections.Counter()
    for name, namespace in node.get_node_names_and_namespaces():
        if not name.startswith('_ros2cli_'):  # the daemon's own node
            out[namespace.rstrip('/') + '/' + name] += 1
    return out


def _listed() -> Optional[Counter]:
    """Return the daemon's node names (how often each), or None when no daemon runs here."""
    from ros2cli.node.daemon import DaemonNode
    with DaemonNode(argparse.Namespace()) as node:
        if not node.connected:
            return None
        return _names(node)


class GhostWatch:
    """
    Take the daemon's node list now (before a run), :meth:`observe` it just before the teardown.

    :meth:`settle` after it. The first list is read in a thread of its own (asking
    the daemon imports ros2cli, ~0.1 s), so the run starts without waiting for it;
    :meth:`observe` and :meth:`settle` wait for it. It only orders the report (the
    run's nodes first): what is restarted is decided on the lists taken later.
    """

    name = STEP_NAME

    def __init__(self):
        self.reason = missing_reason()
        self.before: Optional[Counter] = None
        self.during: Optional[Counter] = None
        self._first = None
        if not self.reason:
            self._first = threading.Thread(target=self._read_before, name='expclean_ghosts',
                                           daemon=True)
            self._first.start()

    def _read_before(self):
        try:
            self.before = _listed()
        except Exception as exc:  # a daemon that does not answer: treat as none
            self.before = None
            self.reason = f'the ROS 2 daemon did not answer: {exc}'

    def _wait_before(self):
        """Wait until the list before the run has been read (or failed)."""
        if self._first is not None:
            self._first.join()

    def observe(self) -> None:
        """Return the daemon's list while the run still lives (its nodes are in it)."""
        self._wait_before()
        if not self.reason:
            try:
                self.during = _listed()
            except Exception:
                self.during = None

    def _run_names(self, now: Counter) -> list:
        """
        Nodes listed now and while the run lived.

        The run's own (listed more often than before it) first.
        """
        before = self.before or collections.Counter()
        seen = self.during if self.during is not None else now
        listed = [n for n in now if seen[n] > 0]
        return sorted(listed, key=lambda n: (seen[n] <= before[n], n))

    def settle(self) -> StepResult:
        """Restart the daemon when it lists a node that was not there before the run."""
        start = time.monotonic()
        self._wait_before()
        if self.reason:
            return StepResult(STEP_NAME, SKIPPED, self.reason, time.monotonic() - start,
                              {'reason': self.reason, 'ghosts': []})
        from ros2cli.node.daemon import shutdown_daemon
        try:
            now = _listed()
            if now is None:
                return StepResult(STEP_NAME, OK, 'no ROS 2 daemon running on this domain',
                                  time.monotonic() - start, {'ghosts': [], 'restarted': False})
            ghosts = self._run_names(now)
            if not ghosts:
                return StepResult(STEP_NAME, OK, 'the ROS 2 daemon lists no node it listed '
                                  'while the run lived',
                                  time.monotonic() - start, {'ghosts': [], 'restarted': False})
            shutdown_daemon(argparse.Namespace(), timeout=STOP_TIMEOUT_S)
        except Exception as exc:
            return StepResult(STEP_NAME, SKIPPED, f'the ROS 2 daemon did not answer: {exc}',
                              time.monotonic() - start, {'ghosts': [], 'reason': str(exc)})
        shown = ', '.join(ghosts[:5]) + (f' and {len(ghosts) - 5} more' if len(ghosts) > 5 else '')
        return StepResult(STEP_NAME, OK, f'restarted the ROS 2 daemon (stopped; the next ros2 '
                          f'command starts it fresh): it still listed {len(ghosts)} node(s) '
                          f'listed while the run lived ({shown})', time.monotonic() - start,
                          {'ghosts': ghosts, 'restarted': True})
