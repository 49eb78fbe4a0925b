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
One run line of a ledger as the report reads it: every field through this one layer.

A field a ledger does not hold (an older runner, or one that died mid-run)
reads as None and is named in :attr:`RunView.missing`; nothing here raises on
a missing or mistyped field. The line is read as the typed record
(:class:`..runs.run_record.RunRecord`), where new ledger fields are added.
"""

import os
from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

from ..runs.record_parts import MOMENTS, number, pick
from ..runs.run_record import RunRecord

__all__ = ['RunView', 'run_view', 'pick', 'number', 'MOMENTS', 'STOP_STAGES']

#: Teardown stages at which a process exited, then one for processes it could not stop.
STOP_STAGES = ('sigint', 'sigterm', 'sigkill', 'left')
_EXPECTED = ('status', 'exit_code', 'duration_s', 'overhead_s', 'memory.before', 'memory.peak',
             'memory.after_teardown', 'memory.after', 'teardown', 'cleanup', 'leftovers')


def process_label(proc: dict) -> str:
    """
    Return what a person calls a process: ``helper.py --rate 5`` for a Python script, else argv.

    >>> process_label({'cmdline': '/usr/bin/python3 -u /x/pipeline.py helper', 'name': 'python3'})
    'pipeline.py helper'
    """
    words = str(proc.get('cmdline') or proc.get('name') or '?').split()
    if words and os.path.basename(words[0]).startswith('python'):
        rest = words[1:]
        while rest and rest[0].startswith('-') and rest[0] not in ('-m', '-c'):
            rest.pop(0)  # the interpreter's own options, before the script
        words = rest or words
    words[0] = os.path.basename(words[0]) or words[0]
    text = ' '.join(words)
    return text if len(text) <= 60 else text[:57] + '...'


@dataclass(frozen=True)
class RunView:
    """What the report shows of one run; None where the ledger has no such figure."""

    ledger: str
    host: str
    index: int
    status: str
    exit_code: Optional[int] = None
    detail: str = ''
    row: Dict[str, str] = field(default_factory=dict)
    run_id: str = ''
    duration_s: Optional[float] = None
    between_s: Optional[float] = None
    cleanup_s: Optional[float] = None
    teardown_s: Optional[float] = None
    plan: Optional[str] = None
    memory: Dict[str, Dict[str, Optional[float]]] = field(default_factory=dict)
    stages: Dict[str, int] = field(default_factory=dict)
    processes: Tuple[Tuple[str, str], ...] = ()
    leftovers: Tuple[str, ...] = ()
    back: Optional[bool] = None
    back_line: str = ''
    verified: bool = False
    finished_at: Optional[float] = None
    missing: Tuple[str, ...] = ()
    figures: Dict[str, float] = field(default_factory=dict)
    disturbed: Optional[bool] = None
    disturbed_cause: str = ''

    @property
    def number(self) -> int:
        return self.index + 1


def _memory(record: RunRecord) -> Dict[str, Dict[str, Optional[float]]]:
    """Resource -> moment -> bytes in use; a moment the ledger lacks reads None."""
    memory: Dict[str, Dict[str, Optional[float]]] = {}
    for key, _ in MOMENTS:
        reading = record.reading(key)
        for resource, value in (reading.in_use() if reading is not None else {}).items():
            memory.setdefault(resource, {k: None for k, _ in MOMENTS})[key] = value
    return memory


def run_view(record: dict, ledger: str, host: str) -> RunView:
    """Return a ledger ``run`` line (a dict with an int ``index``) as a :class:`RunView`."""
    typed = RunRecord.from_dict(record)
    tdown = typed.teardown
    procs = list(tdown.processes or ()) if tdown is not None else []
    stages = {s: 0 for s in STOP_STAGES}
    for p in procs:
        if p.get('stage') in stages:
            stages[p['stage']] += 1
    back = typed.back
    cleanup = typed.cleanup
    seen = record.get('disturbance') if isinstance(record.get('disturbance'), dict) else {}
    return RunView(
        ledger=ledger, host=host, index=record['index'], status=str(record.get('status')),
        exit_code=typed.exit_code, detail=typed.detail or '',
        row={str(k): str(v) for k, v in (typed.row or {}).items()},
        run_id=typed.run_id or '', duration_s=typed.duration_s, between_s=typed.overhead_s,
        cleanup_s=cleanup.seconds if cleanup is not None else None,
        teardown_s=tdown.seconds if tdown is not None else None,
        plan=cleanup.plan if cleanup is not None else None,
        memory=_memory(typed), stages=stages if procs else {},
        processes=tuple((process_label(p), str(p.get('stage'))) for p in procs),
        leftovers=tuple(process_label(p) for p in typed.leftovers or ()),
        back=back.back, back_line=back.why, verified=back.verified,
        finished_at=typed.finished_at, figures=dict(typed.figures or {}),
        disturbed=seen.get('disturbed') if isinstance(seen.get('disturbed'), bool) else None,
        disturbed_cause=str(seen.get('cause') or ''),
        missing=tuple(p for p in _EXPECTED if pick(record, p) is None and p != 'exit_code'
                      or (p == 'exit_code' and 'exit_code' not in record)))
