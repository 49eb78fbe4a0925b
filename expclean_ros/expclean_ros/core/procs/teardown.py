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
Stop every process of a selection — and nothing else.

Escalates like ``ros2 launch`` does on shutdown, but for the whole run rather
than only its direct children: SIGINT, wait, SIGTERM, wait, SIGKILL, wait.
SIGINT goes to the tops of the selected trees first (a process whose parent is
not selected: a ``ros2 launch``, an orphan), so a launcher runs its own orderly
shutdown of its children; a process whose parent has exited becomes a top and
gets its SIGINT then. After the SIGINT grace, the selected processes that got
none yet get theirs and one more grace. No process gets two SIGINTs from us.
Between and during the waits the selection is scanned again, so children
forked during teardown are stopped too. A process is pid + start time: it is
signalled through a pidfd opened after checking its start time (or, without
pidfd support, re-checked just before ``kill``), so a reused pid is never hit.
Zombies count as gone; zombies that are our own children are reaped.

Default timeouts (:mod:`.escalation`): 2 s (SIGINT) + 2 s (SIGTERM) + 1 s (SIGKILL).
The stages (select, signal, wait, escalate, verify) are the methods of
:class:`~.teardown_stages.Escalation`.

Owners of shared memory (torch's ``torch_shm_manager``, which unlinks its
clients' ``/dev/shm`` files 2 s after the last client has gone, and leaves
them behind when a signal ends it) go last: no signal while any other
selected process lives, then ``owner_grace_s`` (5 s) to exit by themselves,
then the stages for whoever is left.
"""

import logging
import time
from typing import Callable, Optional

from . import proctable
from .escalation import (DEFAULT_SIGINT_TIMEOUT_S, DEFAULT_SIGKILL_TIMEOUT_S,
                         DEFAULT_SIGTERM_TIMEOUT_S, StopTimeouts)
from .outcome import ProcessOutcome, TeardownResult
from .pidfd import SIGNAL_VIA
from .scanner import Scanner, check_root
from .selection import Selection
from .teardown_stages import DEFAULT_OWNER_GRACE_S, Escalation, is_shm_owner

__all__ = ['teardown', 'is_shm_owner', 'DEFAULT_OWNER_GRACE_S', 'DEFAULT_SIGINT_TIMEOUT_S',
           'DEFAULT_SIGTERM_TIMEOUT_S', 'DEFAULT_SIGKILL_TIMEOUT_S']

_log = logging.getLogger(__name__)


def teardown(selection: Selection, sigint_timeout_s: float = DEFAULT_SIGINT_TIMEOUT_S,
             sigterm_timeout_s: float = DEFAULT_SIGTERM_TIMEOUT_S,
             sigkill_timeout_s: float = DEFAULT_SIGKILL_TIMEOUT_S, dry_run: bool = False,
             after_sigkill: Optional[Callable[[int], None]] = None,
             presignalled: Optional[Callable[[proctable.ProcInfo], bool]] = None,
             reap: bool = True,
             owner_grace_s: float = DEFAULT_OWNER_GRACE_S) -> TeardownResult:
    """
    Stop every process of ``selection``: SIGINT, wait, SIGTERM, wait, SIGKILL, wait.

    :param after_sigkill: called with the number of processes that needed
        SIGKILL, once, after the SIGKILL stage (only when one was needed), e.g.
        to clean up Fast DDS shared memory those processes could not release.
    :param presignalled: true for a process that got its SIGINT from someone
        else (e.g. the children of a ``ros2 launch`` that is shutting down
        them): we send it none, only the later stages after the grace.
    :param owner_grace_s: owners of shared memory (torch's ``torch_shm_manager``) get no
        signal until every other selected process is gone, then this long to exit by
        themselves (stage ``exited``), unlinking what they own; then the stages. 0: no
        such order.
    :param reap: reap our own exited children; ``False`` where another part of
        this process waits for them (launch's child watcher in a launch action).
    :raises ValueError: a ``root_pid`` that does not exist, negative timeouts,
        patterns that ran past the selection's ``time_limit_s`` in the first scan.
    """
    timeouts_s = StopTimeouts(sigint_timeout_s, sigterm_timeout_s, sigkill_timeout_s).check()
    start = time.monotonic()
    check_root(selection)
    scanner = Scanner(selection)
    if dry_run:
        found = scanner.scan()
        return TeardownResult(tuple(ProcessOutcome(found[p], 'would_stop') for p in sorted(found)),
                              selection.mechanism, SIGNAL_VIA, time.monotonic() - start,
                              dry_run=True)
    run = Escalation(selection, timeouts_s, presignalled=presignalled, reap=reap,
                     owner_grace_s=owner_grace_s, scanner=scanner)
    try:
        run.run()
        if run.killed and after_sigkill is not None:
            _call_hook(after_sigkill, run.killed)
    finally:
        run.close()
    result = run.verify(start)
    _log.info('teardown: %s', result.summary())
    return result


def _call_hook(after_sigkill: Callable[[int], None], killed: int) -> None:
    """Call ``after_sigkill(killed)``; log what it raises (it never hides the teardown result)."""
    try:
        after_sigkill(killed)
    except Exception:
        _log.exception('after_sigkill hook failed')
