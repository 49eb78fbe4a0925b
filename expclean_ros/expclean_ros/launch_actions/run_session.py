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
One launch's run session: what RunTag starts, the CleanupNodeAction registers and Teardown ends.

The launch actions share one :class:`LaunchSession` under one launch global,
:data:`SESSION`. It owns each run's records from before it started (a
:class:`~expclean_ros.core.runs.end_of_run.RunStart`: the tag and cgroup, memory,
the ``/dev/shm`` watch and its sampling thread, the daemon's node list), the
cleanup nodes this launch is starting (the teardown spares them), and whether a
teardown waits for launch's shutdown (the cleanup node then outlives launch's
Ctrl-C until it is done). Sampling threads stop when launch shuts down.
"""

import asyncio
from typing import Dict, Optional, Tuple

from launch.event_handlers import OnProcessExit, OnProcessStart, OnShutdown
from launch.launch_context import LaunchContext

from ..core.runs.end_of_run import RunStart

__all__ = ['LaunchSession', 'SESSION', 'START_WAIT_S']

#: The launch global holding the session.
SESSION = 'expclean_launch_session'
#: How long a teardown waits for a starting cleanup node's pid.
START_WAIT_S = 10.0


class LaunchSession:
    """The runs of one launch, its cleanup nodes starting, and a teardown pending."""

    def __init__(self):
        self.runs: Dict[str, RunStart] = {}
        self.teardown_pending = False
        self._starting: Tuple[asyncio.Future, ...] = ()

    @classmethod
    def of(cls, context: LaunchContext) -> 'LaunchSession':
        """Return the launch's session, made (and stopped at launch's shutdown) on first use."""
        session = getattr(context.locals, SESSION, None)
        if session is None:
            session = cls()
            context.extend_globals({SESSION: session})
            context.register_event_handler(OnShutdown(on_shutdown=lambda *_: session.close()))
        return session

    def add_run(self, run: RunStart) -> None:
        """Keep the records of a run that starts now, under its tag."""
        previous = self.runs.get(run.run_id)
        if previous is not None:
            previous.close()
        self.runs[run.run_id] = run

    def run(self, run_id: str) -> Optional[RunStart]:
        """Return the records of the run tagged ``run_id``, or None (a tag given from outside)."""
        return self.runs.get(run_id)

    def node_starting(self, context: LaunchContext, action) -> None:
        """
        Record that ``action`` (a CleanupNodeAction) is starting its node.

        This launch's teardown waits until the node's pid is known and spares it (the node is in
        the run's cgroup, not of the run).
        """
        future = context.asyncio_loop.create_future()
        self._starting += (future,)

        def known(event, ctx):
            if not future.done():
                future.set_result(event.pid)
        context.register_event_handler(OnProcessStart(target_action=action, on_start=known))
        context.register_event_handler(OnProcessExit(target_action=action, on_exit=known))

    async def spared(self, timeout_s: float = START_WAIT_S) -> Tuple[int, ...]:
        """Return the pids of the cleanup nodes this launch started, once they are known."""
        if self._starting:
            await asyncio.wait(self._starting, timeout=timeout_s)
        return tuple(f.result() for f in self._starting if f.done() and f.result())

    def close(self) -> None:
        """Stop every run's sampling thread (a teardown still takes its last look itself)."""
        for run in self.runs.values():
            run.close()
