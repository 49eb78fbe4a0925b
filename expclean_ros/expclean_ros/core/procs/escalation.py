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
The teardown's waits after SIGINT, SIGTERM and SIGKILL: one type and one default for all callers.

Shorter than ``ros2 launch``'s 5 s + 5 s, meant for between-run use, where a
node that needs more than 2 s to handle Ctrl-C is stopped with SIGTERM. The
core teardown, the sequencer's options, the node's parameters, the launch
actions and the CLI all carry them as :class:`StopTimeouts` and take their
defaults from here. Imports nothing of expclean.

>>> DEFAULT_STOP_TIMEOUTS_S
StopTimeouts(sigint_s=2.0, sigterm_s=2.0, sigkill_s=1.0)
>>> DEFAULT_STOP_TIMEOUTS_S == (2.0, 2.0, 1.0)
True
"""

from typing import Mapping, NamedTuple

__all__ = ['DEFAULT_SIGINT_TIMEOUT_S', 'DEFAULT_SIGTERM_TIMEOUT_S', 'DEFAULT_SIGKILL_TIMEOUT_S',
           'DEFAULT_STOP_TIMEOUTS_S', 'StopTimeouts', 'stop_timeouts_text']

DEFAULT_SIGINT_TIMEOUT_S = 2.0
DEFAULT_SIGTERM_TIMEOUT_S = 2.0
DEFAULT_SIGKILL_TIMEOUT_S = 1.0
#: The stages, in order: each field of :class:`StopTimeouts` is ``<stage>_s``.
STAGES = ('sigint', 'sigterm', 'sigkill')


class StopTimeouts(NamedTuple):
    """
    Seconds to wait after SIGINT, after SIGTERM and after SIGKILL; a tuple of three.

    >>> StopTimeouts.parse('1,0.5,1').keywords()
    {'sigint_timeout_s': 1.0, 'sigterm_timeout_s': 0.5, 'sigkill_timeout_s': 1.0}
    >>> StopTimeouts(1, -1, 1).check()
    Traceback (most recent call last):
    ...
    ValueError: sigterm_timeout_s must be zero or more, got -1
    """

    sigint_s: float = DEFAULT_SIGINT_TIMEOUT_S
    sigterm_s: float = DEFAULT_SIGTERM_TIMEOUT_S
    sigkill_s: float = DEFAULT_SIGKILL_TIMEOUT_S

    def check(self) -> 'StopTimeouts':
        """Return these timeouts, or raise ValueError naming the first that is below zero."""
        for stage, value in zip(STAGES, self):
            if not value >= 0:
                raise ValueError(f'{stage}_timeout_s must be zero or more, got {value}')
        return self

    def keywords(self) -> dict:
        """Return them by the teardown function's names: ``sigint_timeout_s`` and so on."""
        return {f'{stage}_timeout_s': float(value) for stage, value in zip(STAGES, self)}

    def text(self) -> str:
        """Return them as the command line writes them (``2,2,1``)."""
        return ','.join(f'{t:g}' for t in self)

    @classmethod
    def of(cls, values: Mapping, prefix: str = '') -> 'StopTimeouts':
        """
        Return the timeouts held by a mapping under ``<prefix><stage>_timeout_s``.

        >>> StopTimeouts.of({'teardown.sigint_timeout_s': 1, 'teardown.sigterm_timeout_s': 2,
        ...                  'teardown.sigkill_timeout_s': 3}, 'teardown.')
        StopTimeouts(sigint_s=1.0, sigterm_s=2.0, sigkill_s=3.0)
        """
        return cls(*(float(values[f'{prefix}{stage}_timeout_s']) for stage in STAGES))

    @classmethod
    def parse(cls, text: str) -> 'StopTimeouts':
        """Return the timeouts written ``INT,TERM,KILL``; ValueError saying what is expected."""
        try:
            values = [float(v) for v in text.split(',')]
        except ValueError:
            values = []
        if len(values) != 3 or any(not v >= 0 for v in values):
            raise ValueError(f'stop timeouts must be three seconds >= 0 like '
                             f'{DEFAULT_STOP_TIMEOUTS_S.text()}, got {text!r}')
        return cls(*values)


#: (SIGINT, SIGTERM, SIGKILL) waits, seconds.
DEFAULT_STOP_TIMEOUTS_S = StopTimeouts()


def stop_timeouts_text(timeouts=DEFAULT_STOP_TIMEOUTS_S) -> str:
    """
    Return the waits as the command line writes them.

    >>> stop_timeouts_text()
    '2,2,1'
    """
    return StopTimeouts(*timeouts).text()
