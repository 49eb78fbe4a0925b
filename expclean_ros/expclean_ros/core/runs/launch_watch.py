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
A cleanup node started by a launch never outlives it: when the launch dies, tear down its run.

The launch process (``ros2 launch``) is the node's parent. A pidfd of it turns
readable the moment it exits, whatever ended it (SIGKILL included), so a
thread blocks on it (no polling); the run's tagged processes (and its
cgroup) are then stopped, and ``on_done`` is called (the node exits).
"""

import logging
import os
import threading
from typing import Callable, Optional

from . import launch_record
from ..procs.escalation import StopTimeouts
from ..procs.outcome import TeardownResult
from ..procs.pidfd import wait_readable
from ..procs.selection import Selection
from ..procs.teardown import teardown
from .cgroup_trust import trusted_cgroup

__all__ = ['LaunchWatch']

_log = logging.getLogger(__name__)


class LaunchWatch:
    """
    Watch the parent launch ``launch_pid``; once it is gone, stop the run ``run_id``.

    :param launch_pid: the launch process (our parent).
    :param run_id: the run tag to stop (may be empty: then only ``on_done``).
    :param tag_variable: the tag's environment variable.
    :param cgroup: the run's cgroup (``expclean-<run_id>``), or ''.
    :param timeouts: the teardown's SIGINT, SIGTERM and SIGKILL waits.
    :param on_done: ``on_done(result or None)``, from the watch thread, at the end.
    """

    def __init__(self, launch_pid: int, run_id: str, tag_variable: str, cgroup: str,
                 timeouts, on_done: Callable[[Optional[TeardownResult]], None]):
        self.launch_pid = launch_pid
        self.run_id = run_id
        self.tag_variable = tag_variable
        self.cgroup = trusted_cgroup(run_id, cgroup) if run_id and cgroup else None
        self.timeouts = StopTimeouts(*timeouts)
        self._on_done = on_done
        self._wake_r, self._wake_w = os.pipe()
        self._pidfd = self._open()
        self._thread = threading.Thread(target=self._watch, name='launch_watch', daemon=True)
        self._thread.start()

    def _open(self) -> Optional[int]:
        """
        Return a pidfd of the launch, or None when it is gone already (-1: cannot watch).

        Normally the launch is our parent. Should it not be (a wrapper that
        forked), the process is watched all the same: a pid reused since the
        launch died is the only other case, and then the run is stopped later,
        never wrongly (its launch is gone either way).
        """
        if os.getppid() != self.launch_pid:
            _log.warning('launch pid %d is not the parent of this node (pid %d)',
                         self.launch_pid, os.getppid())
        try:
            return os.pidfd_open(self.launch_pid)
        except ProcessLookupError:
            return None
        except (OSError, AttributeError) as exc:  # ENOSYS: kernel < 5.3; Python < 3.9
            _log.warning('cannot watch launch pid %d (%s): a launch killed by SIGKILL '
                         'would leave this node running', self.launch_pid, exc)
            return -1

    def _watch(self):
        if self._pidfd == -1:
            return  # cannot watch: told at start
        if self._pidfd is not None:
            ready = wait_readable([self._pidfd, self._wake_r], None)
            os.close(self._pidfd)
            if self._wake_r in ready:
                return  # closed: the node stops on its own
        _log.warning('launch pid %d is gone: tearing down run %s', self.launch_pid,
                     self.run_id or '(none)')
        result = None
        if self.run_id:
            result = teardown(Selection(tag=self.run_id, tag_variable=self.tag_variable,
                                        cgroup=self.cgroup), *self.timeouts)
            launch_record.finish(self.run_id, self.cgroup, result)
        self._on_done(result)

    def close(self):
        """Stop watching (the node stops for another reason)."""
        try:
            os.write(self._wake_w, b'x')
        except OSError:
            pass
        self._thread.join(1.0)
