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

"""Result types shared by every core step (no expclean imports: all of core uses them)."""

import logging
import time
from dataclasses import dataclass, field
from typing import Callable

__all__ = ['OK', 'SKIPPED', 'FAILED', 'StepResult', 'run_step']

OK = 'ok'
SKIPPED = 'skipped'
FAILED = 'failed'

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepResult:
    """
    Outcome of one cleanup step.

    :param name: short step name, e.g. ``drop_caches``.
    :param status: ``ok``, ``skipped`` or ``failed``.
    :param detail: one readable line: what was done, or why not.
    :param seconds: wall time the step took.
    :param data: step-specific figures (counts, bytes), JSON-serialisable.
    """

    name: str
    status: str
    detail: str = ''
    seconds: float = 0.0
    data: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.status not in (OK, SKIPPED, FAILED):
            raise ValueError(
                f'status must be one of ok, skipped, failed, got {self.status!r}')

    @property
    def ok(self) -> bool:
        return self.status == OK

    def as_dict(self) -> dict:
        return {'name': self.name, 'status': self.status, 'detail': self.detail,
                'seconds': self.seconds, 'data': dict(self.data)}


def run_step(name: str, fn: Callable[[], StepResult]) -> StepResult:
    """
    Run one step; an exception becomes a ``failed`` result, never escapes.

    The returned result carries the measured wall time when the step left
    ``seconds`` at zero.

    >>> run_step('boom', lambda: 1 / 0).status
    'failed'
    """
    start = time.monotonic()
    try:
        result = fn()
    except Exception as exc:  # one failing step never stops the others
        _log.exception('step %s raised', name)
        return StepResult(name, FAILED, f'{type(exc).__name__}: {exc}',
                          time.monotonic() - start)
    if not result.seconds:
        result = StepResult(result.name, result.status, result.detail,
                            time.monotonic() - start, result.data)
    return result
