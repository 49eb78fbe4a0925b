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

"""What a teardown did: one :class:`ProcessOutcome` per process, in a :class:`TeardownResult`."""

from dataclasses import dataclass
from typing import Optional, Tuple

from .selection import Candidate

__all__ = ['ProcessOutcome', 'EXITED', 'TeardownResult', 'STAGES', 'LEFT_D_STATE', 'LEFT_DENIED',
           'LEFT_RUNNING', 'ZOMBIE_NOT_OURS', 'processes']

LEFT_D_STATE = 'uninterruptible sleep (D state)'
LEFT_DENIED = 'permission denied'
LEFT_RUNNING = 'still running'
ZOMBIE_NOT_OURS = 'exited, not yet reaped by its parent'


#: Every value of ProcessOutcome.stage (ProcessInfo's STAGE_ constants say the same).
STAGES = ('sigint', 'sigterm', 'sigkill', 'exited', 'left', 'would_stop')
#: The stage of an owner of shared memory that exited by itself during its grace.
EXITED = 'exited'


def processes(n: int) -> str:
    """``1 process``, ``2 processes``."""
    return f'{n} process' if n == 1 else f'{n} processes'


@dataclass(frozen=True)
class ProcessOutcome:
    """
    What happened to one selected process.

    ``stage``: ``sigint`` | ``sigterm`` | ``sigkill`` (the stage during which it
    exited), ``exited`` (an owner of shared memory that exited by itself in its
    grace, see :func:`~.teardown.teardown`), ``left``, or ``would_stop`` (dry
    run). ``why`` explains a ``left`` (``uninterruptible sleep (D state)``,
    ``permission denied``, ``still running``) or notes ``exited, not yet reaped
    by its parent`` for a gone process (a zombie) whose parent, not us, must
    reap it. ``exit_code`` is set when we reaped it (negative = signal).
    """

    candidate: Candidate
    stage: str
    why: str = ''
    exit_code: Optional[int] = None

    @property
    def pid(self) -> int:
        return self.candidate.pid

    def as_dict(self) -> dict:
        d = self.candidate.as_dict()
        d.update({'stage': self.stage, 'why': self.why, 'exit_code': self.exit_code})
        return d


@dataclass(frozen=True)
class TeardownResult:
    """Outcome of one teardown: per process, the stage it exited at, and who is left."""

    processes: Tuple[ProcessOutcome, ...]
    mechanism: str
    signal_via: str
    seconds: float
    dry_run: bool = False
    killed: int = 0

    @property
    def stopped(self) -> int:
        return sum(1 for p in self.processes
                   if p.stage in ('sigint', 'sigterm', 'sigkill', EXITED))

    @property
    def left(self) -> Tuple[ProcessOutcome, ...]:
        return tuple(p for p in self.processes if p.stage == 'left')

    def stage_of(self, pid: int) -> Optional[str]:
        for p in self.processes:
            if p.pid == pid:
                return p.stage
        return None

    def summary(self) -> str:
        if self.dry_run:
            return f'would stop {processes(len(self.processes))} ({self.mechanism})'
        text = (f'stopped {processes(self.stopped)} ({len(self.left)} left) in '
                f'{self.seconds:.2f} s via {self.mechanism}')
        if self.left:
            text += ': ' + ', '.join(f'{p.pid} {p.candidate.name} ({p.why})' for p in self.left)
        return text

    def as_dict(self) -> dict:
        return {'stopped': self.stopped, 'left': len(self.left), 'killed': self.killed,
                'mechanism': self.mechanism, 'signal_via': self.signal_via,
                'seconds': self.seconds, 'dry_run': self.dry_run,
                'processes': [p.as_dict() for p in self.processes]}
