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
Ledgers read for a report: read-only, every line it cannot use named with the reason.

The sequencer's own reader (:func:`..runs.ledger.read_ledger`) resumes a batch;
this one shows one to a person, so a line it cannot use is never fatal: it is
listed (line number and why) and the rest is shown. Only a file that is not a
ledger at all (missing, empty, no header first) is an error.
"""

import json
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from ..runs.run_record import LEDGER_VERSION, HeaderRecord

__all__ = ['LedgerFile', 'read_for_report']


@dataclass(frozen=True)
class LedgerFile:
    """
    One ledger as read for a report.

    :param runs: the usable ``run`` lines, the latest per run index, in index order.
    :param started_at: run index -> when its ``started`` line says it began.
    :param interrupted: indexes started with no ``run`` line after them.
    :param skipped: ``(line number, why)`` for every line not used.
    :param notes: what the reader should know of the file as a whole.
    """

    path: str
    label: str
    host: str
    header: dict
    runs: Tuple[dict, ...]
    started_at: Dict[int, float]
    interrupted: Tuple[int, ...]
    skipped: Tuple[Tuple[int, str], ...]
    notes: Tuple[str, ...]


def _lines(path: str) -> List[bytes]:
    if not os.path.exists(path):
        raise ValueError(f'ledger {path} does not exist')
    if os.path.isdir(path):
        raise ValueError(f'{path} is a directory; give a ledger file written by expclean run')
    with open(path, 'rb') as f:  # read-only: a report never changes a ledger
        data = f.read()
    if not data.strip():
        raise ValueError(f'ledger {path} is empty: no header and no run '
                         f'(expclean run writes its header before the first run)')
    return data.split(b'\n')


def _first_header(path: str, lines: List[bytes]) -> Tuple[int, dict]:
    for i, raw in enumerate(lines):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except ValueError:
            record = None
        if isinstance(record, dict) and record.get('type') == 'header':
            return i, record
        break
    raise ValueError(f'{path} is not an expclean ledger: its first line is not a ledger '
                     f'header (give the .jsonl file that expclean run --ledger wrote)')


class _Reader:
    def __init__(self, header: dict):
        self.header = header
        self.total = header.get('total_runs')
        self.runs: Dict[int, Tuple[int, dict]] = {}
        self.started: Dict[int, Tuple[str, float]] = {}
        self.skipped: List[Tuple[int, str]] = []
        self.foreign: Optional[str] = None

    def index(self, number: int, record: dict) -> Optional[int]:
        index = record.get('index')
        if isinstance(index, bool) or not isinstance(index, int):
            self.skipped.append((number, f"a {record['type']} line without a run index "
                                         f"(another ledger format?)"))
            return None
        if isinstance(self.total, int) and not 0 <= index < self.total:
            self.skipped.append((number, f'run index {index} is outside the table\'s '
                                         f'{self.total} runs'))
            return None
        return index

    def add(self, number: int, record) -> None:
        kind = record.get('type') if isinstance(record, dict) else None
        if kind is None:
            self.skipped.append((number, 'not a ledger line (no "type")'))
        elif self.foreign:
            self.skipped.append((number, self.foreign))
        elif kind == 'header':
            if record.get('fingerprint') != self.header.get('fingerprint'):
                self.foreign = (f'after the header at line {number} of another table '
                                f'({record.get("table")}): not this ledger\'s runs')
                self.skipped.append((number, f'header of another table ({record.get("table")})'))
        elif kind == 'started':
            index = self.index(number, record)
            if index is not None:
                at = record.get('started_at')
                self.started[index] = (str(record.get('run_id')),
                                       at if isinstance(at, (int, float)) else None)
        elif kind == 'run':
            index = self.index(number, record)
            if index is None:
                return
            if not isinstance(record.get('status'), str):
                self.skipped.append((number, 'a run line without a status (another ledger '
                                             'format?)'))
                return
            if index in self.runs:
                self.skipped.append((self.runs[index][0], f'run {index + 1} recorded again at '
                                                          f'line {number}; the later is shown'))
            self.runs[index] = (number, record)
        else:
            self.skipped.append((number, f'unknown line type {kind!r} (a newer ledger format?)'))


def read_for_report(path: str, label: Optional[str] = None) -> LedgerFile:
    """
    Read ``path`` for a report; ``label`` names its runs (default: the file name).

    :raises ValueError: a missing, empty or non-ledger file, with what to give instead.
    """
    lines = _lines(path)
    first, header = _first_header(path, lines)
    reader = _Reader(header)
    last = max(i for i, raw in enumerate(lines) if raw.strip())
    for i, raw in enumerate(lines):
        if i == first or not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except ValueError:
            torn = i == last and i == len(lines) - 1  # no newline after it
            reader.skipped.append((i + 1, 'the last line is cut short (the runner stopped '
                                          'while writing it)' if torn else 'not JSON'))
            continue
        reader.add(i + 1, record)
    notes = []
    version = header.get('version')
    if not HeaderRecord.from_dict(header).readable:
        notes.append(f'ledger format version {version!r}; this expclean reads version '
                     f'{LEDGER_VERSION}: fields it does not know are not shown, fields it '
                     f'misses show as \u2014')
    interrupted = tuple(sorted(i for i, (run_id, _) in reader.started.items()
                               if i not in reader.runs
                               or reader.runs[i][1].get('run_id') != run_id))
    host = header.get('host')
    return LedgerFile(
        path=os.path.abspath(path),
        label=label or os.path.splitext(os.path.basename(path))[0],
        host=str(host) if host else 'an unrecorded host',
        header=header, runs=tuple(reader.runs[i][1] for i in sorted(reader.runs)),
        started_at={i: at for i, (_, at) in reader.started.items() if at is not None},
        interrupted=interrupted, skipped=tuple(sorted(reader.skipped)), notes=tuple(notes))
