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
The drop-in's ledger: the run records ``expclean report`` reads, as ``expclean run`` writes them.

``cleanup_between_runs(..., ledger='runs.jsonl')`` appends, per run ended, a
``started`` line and a ``run`` line (after a ``header`` line on a new ledger). One
loop process writes one ledger: a ledger of another loop or another table is refused
before anything is stopped. The fields are the sequencer's; the loop does not know
its runs' exit, so ``status`` is ``ok`` and ``exit_code`` None.
"""

import os
import sys
import time
from typing import Optional

from .core.procs.scanner import select
from .core.procs.selection import DEFAULT_TAG_VARIABLE
from .core.runs.end_of_run import DAEMON_STEP
from .core.runs.figures import check_figures
from .core.runs.ledger import Ledger, header_record, read_ledger
from .core.runs.options import STATUS_OK
from .core.runs.records import report_record, run_record

__all__ = ['check_ledger', 'append_run', 'record_figures']


def check_ledger(path: Optional[str], fingerprint: str) -> None:
    """
    Refuse a ledger this loop cannot write, before anything is done.

    :raises ValueError: a directory, a missing directory, a file that is no ledger,
        or a ledger of another loop or table.
    """
    if path is None:
        return
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise ValueError(f'ledger must be a file path, got {path!r}')
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ValueError(f'cannot write ledger {path}: directory {directory} does not exist')
    header = read_ledger(str(path)).header
    if header is not None and header.get('fingerprint') != fingerprint:
        raise ValueError(f'ledger {path} holds the runs of another loop or table '
                         f'({header.get("table")}): give a new ledger path')


def _record(index: int, row: dict, loop, end, report) -> dict:
    """Return the ``run`` line of the run ``end`` ended (the sequencer's typed record)."""
    run = loop.run
    record = run_record(
        index=index, row=row, run_id=end.run_id, command=list(sys.argv), log=None,
        ros_log_dir=None, mechanism=None, status=STATUS_OK, exit_code=None,
        detail='ended by cleanup_utils',
        duration_s=time.monotonic() - loop.begun - end.seconds, before=run.before,
        peak=run.shm.peak, after_teardown=end.after_teardown, after=end.after,
        teardown=end.teardown.as_dict(), shm=end.shm,
        daemon=next((s for s in end.steps if s.name == DAEMON_STEP), None),
        cleanup=report_record(report) if report is not None else None,
        verify=end.verification, leftovers=[c.as_dict() for c in select(run.selection)],
        recovered=None, overhead_s=end.seconds).as_dict()
    record['started_at'] = loop.started_at
    return record


#: The current run's figures (:func:`record_figures`), for its ledger line.
_FIGURES: dict = {}


def record_figures(**figures: float) -> None:
    """
    Keep figures of the current run (``latency_ms=12.3``) for its line in the ledger.

    The run's cleanup with ``ledger=`` records them under ``figures``, as ``expclean run``'s
    ``--metric`` does; the last value given for a name counts. A run given none has none.

    :raises ValueError: a figure that is not a finite number (nothing is kept).
    """
    _FIGURES.update(check_figures(figures))


def append_run(path: Optional[str], loop, end, report=None, run_index: Optional[int] = None,
               total_runs: Optional[int] = None) -> None:
    """Append the run ``end`` ended to the ledger at ``path`` (nothing when None)."""
    figures = dict(_FIGURES)
    _FIGURES.clear()  # the next run starts with none
    if path is None:
        return
    index = run_index if run_index is not None else loop.ended - 1
    row = {'run_index': run_index, 'total_runs': total_runs}
    record = _record(index, row, loop, end, report)
    if figures:
        record['figures'] = figures
    new = read_ledger(str(path)).header is None
    with Ledger(str(path)) as ledger:
        if new:
            script = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else 'python'
            header = header_record(script, loop.fingerprint, total_runs, list(sys.argv),
                                   list(row))
            ledger.append(dict(header, source='cleanup_utils'))
        ledger.append({'type': 'started', 'index': index, 'run_id': end.run_id,
                       'tag_variable': DEFAULT_TAG_VARIABLE, 'cgroup': None,
                       'started_at': loop.started_at})
        ledger.append(record)
