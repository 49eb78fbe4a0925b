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

"""One doctor check's answer: :class:`Check` (works, degraded or unavailable, why, what to do)."""

from dataclasses import dataclass, field

__all__ = ['WORKS', 'DEGRADED', 'UNAVAILABLE', 'Check']

WORKS = 'works'
DEGRADED = 'degraded'
UNAVAILABLE = 'unavailable'


@dataclass(frozen=True)
class Check:
    """One capability: ``state`` works | degraded | unavailable, why, and what to do."""

    name: str
    state: str
    reason: str
    remedy: str = ''
    data: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.state not in (WORKS, DEGRADED, UNAVAILABLE):
            raise ValueError(f'state must be works, degraded or unavailable, got {self.state!r}')

    def line(self) -> str:
        """One readable line: ``state name: reason -> remedy``."""
        text = f'{self.state:<11} {self.name}: {self.reason}'
        return f'{text} -> {self.remedy}' if self.remedy else text

    def as_dict(self) -> dict:
        return {'name': self.name, 'state': self.state, 'reason': self.reason,
                'remedy': self.remedy, 'data': dict(self.data)}
