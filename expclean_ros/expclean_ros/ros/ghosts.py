"""No ghost nodes: a ROS 2 daemon that still lists a torn-down run's nodes is restarted.

The daemon of ros2cli (``ros2 node list`` and friends ask it) keeps a node
that was killed for the length of its DDS lease (about 20 s with Fast DDS):
the next run's readiness check would pass on a dead node. :class:`GhostWatch`
reads the daemon's node list before a run; after the run's teardown, a node
listed now that was not listed then (one of the run's, or one started during
it) makes it stop the daemon through ros2cli's own API (``system.shutdown``,
as ``ros2 daemon stop`` does: never a signal). The next ``ros2`` call starts
a fresh daemon, which sees live nodes only.

Only the daemon of our own ``ROS_DOMAIN_ID`` is addressed (ros2cli's rule: its
port is 11511 + the domain). Without ros2cli the step is skipped with the reason.
"""

import argparse
import importlib.util
import time
from typing import Optional, Set

from expclean_ros.core.cleanup.results import OK, SKIPPED, StepResult

__all__ = ['GhostWatch', 'STEP_NAME', 'missing_reason']

STEP_NAME = 'ros2_daemon'
STOP_TIMEOUT_S = 10.0


def missing_reason() -> str:
    """Why the daemon cannot be reached through ros2cli here, or ''."""
    if importlib.util.find_spec('ros2cli') is None:
        return 'ros2cli not installed (no ros2 command: no daemon to restart)'
    return ''


def _names(node) -> Set[str]:
    out = set()
    for name, namespace in node.get_node_names_and_namespaces():
        out.add(namespace.rstrip('/') + '/' + name)
    return out


def _listed() -> Optional[Set[str]]:
    """The daemon's node names, or None when no daemon runs on our domain."""
    from ros2cli.node.daemon import DaemonNode
    with DaemonNode(argparse.Namespace()) as node:
        if not node.connected:
            return None
        return _names(node)


class GhostWatch:
    """Take the daemon's node list now (before a run); :meth:`settle` after its teardown."""

    def __init__(self):
        self.reason = missing_reason()
        self.before: Optional[Set[str]] = None
        if not self.reason:
            try:
                self.before = _listed()
            except Exception as exc:  # a daemon that does not answer: treat as none
                self.before = None
                self.reason = f'the ROS 2 daemon did not answer: {exc}'

    def settle(self) -> StepResult:
        """Restart the daemon when it lists a node that was not there before the run."""
        start = time.monotonic()
        if self.reason:
            return StepResult(STEP_NAME, SKIPPED, self.reason, time.monotonic() - start,
                              {'reason': self.reason, 'ghosts': []})
        from ros2cli.node.daemon import shutdown_daemon
        try:
            now = _listed()
            if now is None:
                return StepResult(STEP_NAME, OK, 'no ROS 2 daemon running on this domain',
                                  time.monotonic() - start, {'ghosts': [], 'restarted': False})
            ghosts = sorted(now - (self.before or set()))
            if not ghosts:
                return StepResult(STEP_NAME, OK, 'the ROS 2 daemon lists no node of the run',
                                  time.monotonic() - start, {'ghosts': [], 'restarted': False})
            shutdown_daemon(argparse.Namespace(), timeout=STOP_TIMEOUT_S)
        except Exception as exc:
            return StepResult(STEP_NAME, SKIPPED, f'the ROS 2 daemon did not answer: {exc}',
                              time.monotonic() - start, {'ghosts': [], 'reason': str(exc)})
        shown = ', '.join(ghosts[:5]) + (f' and {len(ghosts) - 5} more' if len(ghosts) > 5 else '')
        return StepResult(STEP_NAME, OK, f'restarted the ROS 2 daemon (stopped; the next ros2 '
                          f'command starts it fresh): it still listed {len(ghosts)} node(s) of '
                          f'the run ({shown})', time.monotonic() - start,
                          {'ghosts': ghosts, 'restarted': True})
