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

"""The node's side of its launch: when the launch that started it dies, stop its run, exit."""

import os
import signal
from typing import Optional

from ..core.memory import dds_shm
from ..core.procs.escalation import StopTimeouts
from ..core.runs.launch_watch import LaunchWatch
from .signals import defer_sigterm

#: Longest a node started by launch stays after a SIGTERM while its launch runs.
SIGTERM_DEFER_S = 60.0

__all__ = ['watch_launch']


def watch_launch(node) -> Optional[LaunchWatch]:
    """
    Watch ``launch.pid`` (set by the CleanupNodeAction launch action), or None when unset.

    When that launch dies by any signal (SIGKILL included), the node tears down
    ``launch.run_tag`` (and ``launch.cgroup``), removes stale DDS shared memory,
    and stops as on SIGTERM. A first SIGTERM while that launch runs is put off
    (``signals.defer_sigterm``): launch stops the node once its teardown and call are done.
    """
    values = node.values
    if values['launch.pid'] <= 0:
        return None
    log = node.get_logger()

    def done(result):
        what = result.summary() if result is not None else 'no run tag given'
        log.warning(f'launch pid {values["launch.pid"]} is gone: run '
                    f'{values["launch.run_tag"] or "(none)"}: {what}; exiting')
        if values['dds_shm_cleanup']:
            dds_shm.clean_stale_segments()
        os.kill(os.getpid(), signal.SIGTERM)  # the node's own way out (signals.py)

    launch_pid = values['launch.pid']
    defer_sigterm(lambda: os.getppid() == launch_pid, SIGTERM_DEFER_S, log.warning)
    return LaunchWatch(values['launch.pid'], values['launch.run_tag'],
                       values['teardown.tag_variable'], values['launch.cgroup'],
                       StopTimeouts.of(values, 'teardown.'), done)
