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
The per-run memory ledger: a JSON-lines file, appended, flushed and fsync'd line by line.

Lines, each a JSON object with a ``type``:

- ``header``: once, first: the table's path and fingerprint, the number of
  runs, the command template and the host it runs on. A ledger whose fingerprint differs from the
  table's is refused (it belongs to another table).
- ``started``: written (and fsync'd) *before* a run starts: its index, run
  id (the tag value), tag variable and cgroup. A ``started`` line with no
  ``run`` line after it marks a run interrupted with the runner, whose
  processes ``--resume`` tears down by that tag before running it again.
- ``run``: the finished run's record (:class:`.run_record.RunRecord`).

The header's ``version`` (:data:`.run_record.LEDGER_VERSION`) says which fields the lines
hold; docs/batches.md describes them.

A torn last line (the runner killed while writing) is ignored on reading.
"""

import json
import logging
import os
import socket
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from .run_record import LEDGER_VERSION, HeaderRecord

__all__ = ['Ledger', 'LedgerState', 'read_ledger', 'header_record', 'LEDGER_VERSION']

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LedgerState:
    """
    What a ledger file holds.

    :param header: the header line, or None for a new/empty ledger.
    :param finished: run index -> its last ``run`` record.
    :param interrupted: ``started`` records (index order) of runs with no ``run``
        record after them.
    :param torn_lines: lines that were not valid JSON (a torn write), skipped.
    """

    header: Optional[dict] = None
    finished: Dict[int, dict] = field(default_factory=dict)
    interrupted: Tuple[dict, ...] = ()
    torn_lines: int = 0


def read_ledger(path: str) -> LedgerState:
    """
    Read a ledger; a missing or empty file is a new ledger.

    :raises ValueError: a directory, a file without a header, a format version this code does
        not read (a newer one).
    """
    if os.path.isdir(path):
        raise ValueError(f'cannot write ledger {path}: it is a directory; give a file path')
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return LedgerState()
    header = None
    finished: Dict[int, dict] = {}
    started: Dict[int, dict] = {}
    torn = 0
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                torn += 1
                _log.warning('%s: line %d is not JSON (torn write?), skipped', path, number)
                continue
            kind = record.get('type') if isinstance(record, dict) else None
            if kind == 'header' and header is None:
                header = record
            elif kind == 'started':
                started[int(record['index'])] = record
            elif kind == 'run':
                index = int(record['index'])
                finished[index] = record
                if started.get(index, {}).get('run_id') == record.get('run_id'):
                    started.pop(index)
    if header is None:
        raise ValueError(f'{path} is not an expclean ledger (no header line); '
                         f'give another --ledger path')
    if not HeaderRecord.from_dict(header).readable:
        raise ValueError(f'{path} is a ledger of format version {header.get("version")!r}; this '
                         f'expclean writes version {LEDGER_VERSION}: continue it with the '
                         f'expclean that wrote it, or give a new --ledger path')
    interrupted = tuple(started[i] for i in sorted(started))
    return LedgerState(header, finished, interrupted, torn)


class Ledger:
    """An open ledger file; every :meth:`append` is on disk (fsync'd) when it returns."""

    def __init__(self, path: str):
        self.path = os.path.abspath(path)
        directory = os.path.dirname(self.path)
        if not os.path.isdir(directory):
            raise ValueError(f'cannot write ledger {path}: directory {directory} does not exist')
        try:
            self._file = open(self.path, 'a', encoding='utf-8')
        except OSError as exc:
            raise ValueError(f'cannot write ledger {path}: {exc.strerror or exc}') from None
        self._mend_torn_tail()

    def _mend_torn_tail(self) -> None:
        """Start a fresh line when the file ends inside a line (a killed writer)."""
        size = os.path.getsize(self.path)
        if size:
            with open(self.path, 'rb') as f:
                f.seek(size - 1)
                if f.read(1) != b'\n':
                    self._file.write('\n')
                    self._file.flush()

    def append(self, record: dict) -> None:
        """Write one record as one line, then flush and fsync."""
        line = json.dumps(record, sort_keys=False, default=str)
        self._file.write(line + '\n')
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def header_record(table_path: str, fingerprint: str, total_runs: int,
                  template: List[str], columns: List[str]) -> dict:
    """Return the first line of a new ledger."""
    return HeaderRecord(version=LEDGER_VERSION, table=table_path, fingerprint=fingerprint,
                        total_runs=total_runs, columns=tuple(columns), command=tuple(template),
                        host=socket.gethostname()).as_dict()
