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
a missing or mistyped field. New ledger fields are added here and only here.
"""

import numbers
import os
from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

__all__ = ['RunView', 'run_view', 'pick', 'number', 'MOMENTS', 'STOP_STAGES']

#: The four memory readings of a run, in the ledger's words and the report's.
MOMENTS = (('before', 'before'), ('peak', 'peak'), ('after_teardown', 'after teardown'),
           ('after', 'after cleanup'))
#: Teardown stages at which a process exited, then one for processes it could not stop.
STOP_STAGES = ('sigint', 'sigterm', 'sigkill', 'left')
_EXPECTED = ('status', 'exit_code', 'duration_s', 'overhead_s', 'memory.before', 'memory.peak',
             'memory.after_teardown', 'memory.after', 'teardown', 'cleanup', 'leftovers')


def pick(record, path: str):
    """Return the value at a dotted ``path`` of nested dicts, or None where any part is missing."""
    node = record
    for part in path.split('.'):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def number(record, path: str) -> Optional[float]:
    """Return a number at ``path`` (not a bool), else None."""
    value = pick(record, path)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    return value


def _memory(snap) -> Dict[str, Optional[float]]:
    """Resource name -> bytes in use in one snapshot: RAM, /dev/shm, swap, each GPU."""
    if not isinstance(snap, dict):
        return {}
    out = {'RAM': number(snap, 'ram_used_bytes'), '/dev/shm': number(snap, 'shm_used_bytes'),
           'swap': number(snap, 'swap_used_bytes')}
    for g in snap.get('gpus') or ():
        if isinstance(g, dict) and isinstance(g.get('index'), int):
            out[f'GPU{g["index"]}'] = number(g, 'used_bytes')
    return {k: v for k, v in out.items() if v is not None}


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

    @property
    def number(self) -> int:
        return self.index + 1


def _back(record) -> Tuple[Optional[bool], str, bool]:
    """(back at the level before the run, the runner's line, verified by the runner)."""
    checked = pick(record, 'verify')
    if isinstance(checked, dict) and isinstance(checked.get('clean'), bool):
        return checked['clean'], str(checked.get('line') or ''), True
    clean = pick(record, 'cleanup.clean')
    if isinstance(clean, bool):
        return clean, str(pick(record, 'cleanup.message') or ''), True
    return None, '', False


def run_view(record: dict, ledger: str, host: str) -> RunView:
    """Return a ledger ``run`` line (a dict with an int ``index``) as a :class:`RunView`."""
    memory = {}
    for key, _ in MOMENTS:
        for resource, value in _memory(pick(record, f'memory.{key}')).items():
            memory.setdefault(resource, {k: None for k, _ in MOMENTS})[key] = value
    procs = pick(record, 'teardown.processes')
    procs = [p for p in procs if isinstance(p, dict)] if isinstance(procs, list) else []
    stages = {s: 0 for s in STOP_STAGES}
    for p in procs:
        if p.get('stage') in stages:
            stages[p['stage']] += 1
    left = pick(record, 'leftovers')
    left = [process_label(p) for p in left if isinstance(p, dict)] \
        if isinstance(left, list) else []
    back, line, verified = _back(record)
    row = pick(record, 'row')
    exit_code = pick(record, 'exit_code')
    return RunView(
        ledger=ledger, host=host, index=record['index'], status=str(record.get('status')),
        exit_code=exit_code if isinstance(exit_code, int) else None,
        detail=str(record.get('detail') or ''),
        row={str(k): str(v) for k, v in row.items()} if isinstance(row, dict) else {},
        run_id=str(record.get('run_id') or ''), duration_s=number(record, 'duration_s'),
        between_s=number(record, 'overhead_s'), cleanup_s=number(record, 'cleanup.seconds'),
        teardown_s=number(record, 'teardown.seconds'), plan=pick(record, 'cleanup.plan'),
        memory=memory, stages=stages if procs else {},
        processes=tuple((process_label(p), str(p.get('stage'))) for p in procs),
        leftovers=tuple(left), back=back, back_line=line, verified=verified,
        finished_at=number(record, 'finished_at'),
        missing=tuple(p for p in _EXPECTED if pick(record, p) is None and p != 'exit_code'
                      or (p == 'exit_code' and 'exit_code' not in record)))
