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
The ledger's header and ``run`` lines as typed records (the format: docs/batches.md).

``as_dict()`` is the JSON line written; ``from_dict()`` reads a line of this
version or of version 1 (no ``shm_used_bytes``; no ``version`` at all before it),
never raising on a missing or mistyped field (see :mod:`.record_parts`).
"""

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Tuple

from .record_parts import (NUMBER, CleanupRecord, MemoryReading, Record, RunMemory, StepRecord,
                           TeardownSummary, VerifyRecord, dicts)

__all__ = ['LEDGER_VERSION', 'READ_VERSIONS', 'Back', 'HeaderRecord', 'RunRecord']

#: Version 2: memory readings hold ``shm_used_bytes`` (/dev/shm in use).
LEDGER_VERSION = 2
#: Header versions this code reads; None: a header without ``version``.
READ_VERSIONS = (None, 1, 2)


@dataclass(frozen=True)
class Back:
    """
    Whether a run came back to its level before the run: the one rule every reader shows.

    >>> Back(False, 'RAM +1 GiB', True, 3 * 2**20).text(dash='-', short=True)
    '+3 MiB'
    >>> Back(False, 'RAM +1 GiB').text()
    'no: RAM +1 GiB'
    """

    back: Optional[bool] = None
    why: str = ''
    verified: bool = False
    excess_bytes: Optional[float] = None

    def text(self, dash: str = '\u2014', short: bool = False) -> str:
        """``yes``, ``no: why`` (``short``: ``+N MiB`` above the level), or ``dash``: unknown."""
        if self.back is None:
            return dash
        if self.back:
            return 'yes'
        if short and self.excess_bytes is not None:
            return f'+{self.excess_bytes / 2**20:.0f} MiB'
        return 'no: ' + self.why


@dataclass(frozen=True)
class HeaderRecord(Record):
    """A ledger's first line: its table, the runs, the command template, the host."""

    type: str = 'header'
    version: Optional[int] = LEDGER_VERSION
    table: Optional[str] = None
    fingerprint: Optional[str] = None
    total_runs: Optional[int] = None
    columns: Optional[Tuple[str, ...]] = None
    command: Optional[Tuple[str, ...]] = None
    host: Optional[str] = None
    rest: Mapping[str, Any] = field(default_factory=dict)
    _TYPES = {'type': str, 'version': int, 'table': str, 'fingerprint': str, 'total_runs': int,
              'host': str}

    @classmethod
    def _read(cls, name, value):
        return tuple(str(v) for v in value) if isinstance(value, list) else None

    @property
    def readable(self) -> bool:
        """Return whether this code reads the ledger's version."""
        return self.version in READ_VERSIONS


@dataclass(frozen=True)
class RunRecord(Record):
    """One finished run, as the sequencer writes it (field by field: docs/batches.md)."""

    type: str = 'run'
    index: Optional[int] = None
    row: Optional[Mapping[str, Any]] = None
    run_id: Optional[str] = None
    command: Optional[Tuple[str, ...]] = None
    log: Optional[str] = None
    ros_log_dir: Optional[str] = None
    mechanism: Optional[str] = None
    status: Optional[str] = None
    exit_code: Optional[int] = None
    detail: Optional[str] = None
    duration_s: Optional[float] = None
    memory: Optional[RunMemory] = None
    teardown: Optional[TeardownSummary] = None
    shm: Optional[StepRecord] = None
    ros2_daemon: Optional[StepRecord] = None
    cleanup: Optional[CleanupRecord] = None
    verify: Optional[VerifyRecord] = None
    leftovers: Optional[Tuple[dict, ...]] = None
    recovered: Optional[Mapping[str, Any]] = None
    finished_at: Optional[float] = None
    overhead_s: Optional[float] = None
    figures: Optional[Mapping[str, float]] = None
    rest: Mapping[str, Any] = field(default_factory=dict)
    _TYPES = {'type': str, 'index': int, 'row': dict, 'run_id': str, 'log': str,
              'ros_log_dir': str, 'mechanism': str, 'status': str, 'exit_code': int,
              'detail': str, 'duration_s': NUMBER, 'recovered': dict,
              'finished_at': NUMBER, 'overhead_s': NUMBER}
    _NESTED = {'memory': RunMemory, 'teardown': TeardownSummary, 'shm': StepRecord,
               'ros2_daemon': StepRecord, 'cleanup': CleanupRecord, 'verify': VerifyRecord}
    _OPTIONAL = ('mechanism', 'figures')

    @classmethod
    def _read(cls, name, value):
        if name == 'figures':  # name -> number; anything else in it is no figure
            return {str(k): v for k, v in value.items() if isinstance(v, NUMBER)
                    and not isinstance(v, bool)} if isinstance(value, dict) else None
        if name == 'command':
            return tuple(str(v) for v in value) if isinstance(value, list) else None
        return dicts(value) if isinstance(value, list) else None  # leftovers

    def reading(self, moment: str) -> Optional[MemoryReading]:
        """Return the memory reading at ``moment`` (``before``, ``peak``, ...), or None."""
        return getattr(self.memory, moment, None) if self.memory is not None else None

    @property
    def back(self) -> Back:
        """Back at its level before the run: the runner's check, else a cleanup node's."""
        if self.verify is not None and self.verify.clean is not None:
            return Back(self.verify.clean, self.verify.line or '', True,
                        self.verify.excess_bytes)
        if self.cleanup is not None and self.cleanup.clean is not None:
            return Back(self.cleanup.clean, self.cleanup.message or '', True)
        return Back()

    @property
    def left(self) -> int:
        """Return how many processes outlived the teardown (it could not stop, or found later)."""
        return len(self.leftovers or ()) + ((self.teardown.left or 0) if self.teardown else 0)
