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
Was the run disturbed? Pressure stalls and the CPU time of processes outside it.

:class:`Pressure` reads the ``some`` totals of ``/proc/pressure/{cpu,io,memory}``
(microseconds stalled). Where that directory is missing or unreadable (older
kernels, some containers) it falls back to ``/proc/stat``: the share of CPU time
stolen (cpu) and waiting for I/O (io); memory is then not known. The reason is
logged once and kept in every record. :func:`judge` turns a reading at the run's
start and one at its end, with the process tables then
(:class:`..memory.attribution.Baseline`), into a :class:`Disturbance`: the share
of the run's time stalled per resource, the three largest consumers of CPU
outside the run, and whether a threshold was passed (see docs/batches.md).
"""

import logging
import os
import time
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Tuple

from ..memory.attribution import Baseline, ProcRow, user_name

__all__ = ['Pressure', 'Disturbance', 'Thresholds', 'judge', 'PSI_ROOT', 'RESOURCES']

_log = logging.getLogger(__name__)

PSI_ROOT = '/proc/pressure'
RESOURCES = ('cpu', 'io', 'memory')
_CLK_TCK = os.sysconf('SC_CLK_TCK')
_TOP = 3
_said = set()


@dataclass(frozen=True)
class Thresholds:
    """
    When a run counts as disturbed.

    :param stall_share: the share of the run's time some task stalled on a resource.
    :param foreign_cpu: CPU outside the run, in cores (CPU seconds per second of the run).
    """

    stall_share: float = 0.25
    foreign_cpu: float = 0.5

    def __post_init__(self):
        for name in ('stall_share', 'foreign_cpu'):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not value > 0:
                raise ValueError(f'disturbance threshold {name} must be a number greater '
                                 f'than zero, got {value!r}')


@dataclass(frozen=True)
class Pressure:
    """Stall totals at one moment: ``totals[resource]`` in microseconds (``source``: psi)."""

    at: float
    totals: Dict[str, float]
    source: str
    reason: str = ''

    @classmethod
    def read(cls, root: str = PSI_ROOT) -> 'Pressure':
        now = time.monotonic()
        try:
            totals = {r: _psi_some(os.path.join(root, r)) for r in RESOURCES}
            return cls(now, totals, 'psi')
        except (OSError, ValueError, IndexError) as exc:
            reason = f'{root} unreadable ({getattr(exc, "strerror", None) or exc}): ' \
                     f'stalls from /proc/stat (steal for cpu, iowait for io, memory unknown)'
            if reason not in _said:
                _said.add(reason)
                _log.warning('%s', reason)
            return cls(now, _stat_totals(), 'proc/stat', reason)


def _psi_some(path: str) -> float:
    with open(path, 'rb') as f:
        line = f.readline()
    if not line.startswith(b'some '):
        raise ValueError(f'{path}: no "some" line')
    return float(line.rsplit(b'total=', 1)[1])


def _stat_totals() -> Dict[str, float]:
    """Return ``all``, ``cpu`` (steal), ``io`` (iowait) from /proc/stat's first line, in us."""
    with open('/proc/stat', 'rb') as f:
        ticks = [int(x) for x in f.readline().split()[1:]]
    scale = 1e6 / _CLK_TCK
    steal = ticks[7] if len(ticks) > 7 else 0
    return {'all': sum(ticks[:8]) * scale, 'cpu': steal * scale, 'io': ticks[4] * scale}


@dataclass(frozen=True)
class Disturbance:
    """
    What happened around a run while it ran.

    :param stall: share of the run's time stalled, per resource (None: not known).
    :param foreign: the largest consumers outside the run, ``(pid, user, command, CPU s)``.
    :param cause: why it is disturbed (empty when not).
    """

    seconds: float
    stall: Dict[str, Optional[float]]
    source: str
    reason: str
    foreign_cpu_s: float
    foreign: Tuple[Tuple[int, str, str, float], ...]
    disturbed: bool
    cause: str

    def as_dict(self) -> dict:
        return {'disturbed': self.disturbed, 'cause': self.cause, 'seconds': self.seconds,
                'stall': dict(self.stall), 'source': self.source, 'reason': self.reason,
                'foreign_cpu_s': self.foreign_cpu_s,
                'foreign': [{'pid': p, 'user': u, 'command': c, 'cpu_s': s}
                            for p, u, c, s in self.foreign]}


def _stalls(start: Pressure, end: Pressure, seconds: float) -> Dict[str, Optional[float]]:
    if start.source != end.source or seconds <= 0:
        return {r: None for r in RESOURCES}
    if end.source == 'psi':
        return {r: max(0.0, (end.totals[r] - start.totals[r]) / 1e6 / seconds)
                for r in RESOURCES}
    span = end.totals['all'] - start.totals['all']
    share = {r: (end.totals[r] - start.totals[r]) / span if span > 0 else 0.0
             for r in ('cpu', 'io')}
    return dict(share, memory=None)


def _foreign_cpu(before: Baseline, after: Baseline,
                 is_run: Callable[[ProcRow], bool]) -> Dict[int, float]:
    own = os.getpid()
    used = {}
    for pid, row in after.table.items():
        old = before.table.get(pid)
        if pid == own:
            continue
        if old is not None and old.start_ticks == row.start_ticks:
            used[pid] = (row.cpu_ticks - old.cpu_ticks) / _CLK_TCK
        elif row.start_ticks >= before.ticks and not is_run(row):
            used[pid] = row.cpu_ticks / _CLK_TCK
    return used


def judge(start: Pressure, end: Pressure, before: Baseline, after: Baseline,
          is_run: Callable[[ProcRow], bool],
          thresholds: Optional[Thresholds] = None) -> Disturbance:
    """Tell how the run from ``start``/``before`` to ``end``/``after`` was disturbed."""
    limits = thresholds or Thresholds()
    seconds = max(end.at - start.at, 1e-6)
    stall = _stalls(start, end, seconds)
    used = _foreign_cpu(before, after, is_run)
    total = sum(s for s in used.values() if s > 0)
    top = sorted(((s, pid) for pid, s in used.items() if s > 0), reverse=True)[:_TOP]
    foreign = tuple((pid, user_name(after.table[pid].uid), after.table[pid].name, round(s, 3))
                    for s, pid in top)
    causes = [f'{r} stalled {share:.0%} of the run' for r, share in stall.items()
              if share is not None and share > limits.stall_share]
    if total / seconds > limits.foreign_cpu:
        names = ', '.join(f'{c} (pid {p}, user {u}) {s:.1f} s' for p, u, c, s in foreign)
        causes.append(f'{total:.1f} CPU s outside the run: {names}')
    return Disturbance(round(seconds, 3), stall, end.source, end.reason, round(total, 3),
                       foreign, bool(causes), '; '.join(causes))
