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
A run on a shared machine: what it left versus what others did, and what disturbed it.

:class:`Accounting` takes the process table, the kernel's figures and the pressure
stall totals as a run starts; :meth:`Accounting.ending` judges the disturbance as the
run ends (before its teardown), :meth:`Accounting.attribute` accounts the RAM growth
once the cleanup is done. A process is the run's when it carries the run's tag, is in
its cgroup, or was left by its teardown.
"""

from typing import Callable, Iterable, Optional

from ..memory.attribution import Attribution, Baseline, ProcRow, attribute
from ..procs import cgroups, proctable
from .disturbance import PSI_ROOT, Disturbance, Pressure, Thresholds, judge

__all__ = ['Accounting', 'run_member']


def run_member(selection) -> Callable[[ProcRow], bool]:
    """Return ``is_run(row)``: the run's tag in its environment, or in its cgroup."""
    pids = set()
    if selection is not None and selection.cgroup:
        pids |= cgroups.procs(selection.cgroup)
    tag = getattr(selection, 'tag', None)
    variable = getattr(selection, 'tag_variable', None)

    def is_run(row: ProcRow) -> bool:
        if row.pid in pids:
            return True
        if not tag or not variable:
            return False
        status, value = proctable.read_environ_var(row.pid, variable)
        return status == proctable.ENV_OK and value == tag
    return is_run


class Accounting:
    """The records a run is accounted by, taken as it starts."""

    def __init__(self, thresholds: Optional[Thresholds] = None, pressure_root: str = PSI_ROOT):
        self.thresholds = thresholds or Thresholds()
        self.pressure_root = pressure_root
        self.start = Baseline.take()
        self.pressure = Pressure.read(pressure_root)
        self.disturbance: Optional[Disturbance] = None

    def ending(self, selection) -> Disturbance:
        """As the run ends, while its processes live: how it was disturbed (kept)."""
        now = Pressure.read(self.pressure_root)
        self.disturbance = judge(self.pressure, now, self.start, Baseline.take(),
                                 run_member(selection), self.thresholds)
        return self.disturbance

    def attribute(self, selection, left: Iterable[int] = ()) -> Attribution:
        """After the cleanup: account the RAM grown since the start (``left``: the run's pids)."""
        return attribute(self.start, Baseline.take(), run_member(selection), left)
