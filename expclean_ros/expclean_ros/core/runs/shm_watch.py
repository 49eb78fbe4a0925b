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
One run's shared memory, from before it starts to the check after its cleanup.

:class:`ShmWatch` takes the record of ``/dev/shm`` before the run, notes the
run's processes and what they hold while it runs (:meth:`observe`, cheap
enough to call every sample: it looks again only every ``interval_s``),
removes what the run left once it is torn down (:meth:`clean`) and compares
the machine with its level before the run (:meth:`verify`). Used by the
sequencer and by the launch actions.
"""

import threading
import time
from typing import Callable, Iterable, Optional

from ..step_result import StepResult, run_step
from ..cleanup.verify import DEFAULT_VERIFY_TOLERANCE_BYTES, Verification, verify
from ..memory.run_shm import STEP_NAME, clean_run_shm
from ..memory.shm_record import RunEvidence, ShmRecord
from ..procs import proctable

__all__ = ['ShmWatch', 'run_pids', 'DEFAULT_OBSERVE_INTERVAL_S']

DEFAULT_OBSERVE_INTERVAL_S = 0.5


class ShmWatch:
    """
    The record before a run, the evidence while it runs, the cleanup and check after it.

    Make it before the run starts (it takes the record), then :meth:`follow` the run.
    """

    def __init__(self, root: Optional[str] = None,
                 interval_s: float = DEFAULT_OBSERVE_INTERVAL_S):
        self.started_ticks = proctable.boot_ticks()
        self.record = ShmRecord.take(root)
        self.evidence = RunEvidence(self.record.root)
        self._pids: Callable[[], Iterable[int]] = list
        self._interval_s = interval_s
        self._next = 0.0
        self._lock = threading.Lock()

    def follow(self, pids: Callable[[], Iterable[int]]) -> None:
        """``pids`` returns the run's processes now (see :func:`run_pids`)."""
        self._pids = pids

    def start_sampling(self) -> None:
        """
        Observe from a daemon thread every ``interval_s`` until :meth:`stop_sampling`.

        Where no loop of the caller's samples the run, e.g. in launch.
        """
        self._stop = threading.Event()

        def loop():
            while not self._stop.wait(self._interval_s):
                self.observe(force=True)
        threading.Thread(target=loop, name='expclean-shm-watch', daemon=True).start()

    def stop_sampling(self) -> None:
        stop = getattr(self, '_stop', None)
        if stop is not None:
            stop.set()

    def observe(self, force: bool = False) -> None:
        """Note the run's processes and what they hold (at most every ``interval_s``)."""
        now = time.monotonic()
        if self.record.reason or (not force and now < self._next):
            return
        self._next = now + self._interval_s
        with self._lock:
            try:
                self.evidence.observe(self._pids())
            except Exception:  # evidence is best effort: without it files stay, reported
                pass

    def clean(self) -> StepResult:
        """Remove what the run left in ``/dev/shm`` (after its teardown)."""
        self.stop_sampling()
        with self._lock:
            return run_step(STEP_NAME, lambda: clean_run_shm(self.record, self.evidence))

    def verify(self, before, after,
               tolerance_bytes: int = DEFAULT_VERIFY_TOLERANCE_BYTES,
               attribution=None) -> Verification:
        """Tell whether the machine is back at ``before`` (the snapshot taken with the record)."""
        return verify(before, after, self.record, tolerance_bytes=tolerance_bytes,
                      since_ticks=self.started_ticks, attribution=attribution)


def run_pids(selection, cgroup=None) -> Callable[[], list]:
    """``pids`` for :class:`ShmWatch`: the cgroup's members, else a scan for the tag."""
    from ..procs import cgroups
    from ..procs.scanner import select

    def pids():
        if cgroup:
            return sorted(cgroups.procs(cgroup))
        return [c.pid for c in select(selection)]
    return pids
