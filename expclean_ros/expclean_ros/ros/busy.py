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

"""One cleanup at a time: a non-blocking guard that says what is running."""

import threading
import time
from typing import Optional

__all__ = ['BusyGuard']


class BusyGuard:
    """
    Admit one job at a time; others are told at once what runs and for how long.

    >>> guard = BusyGuard()
    >>> guard.try_begin('quick') is None
    True
    >>> guard.try_begin('comprehensive').startswith('busy: quick cleanup running for')
    True
    >>> guard.end()
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._job = None
        self._since = 0.0

    def try_begin(self, job: str) -> Optional[str]:
        """Start ``job`` and return None, or return the busy message."""
        with self._lock:
            if self._job is not None:
                return (f'busy: {self._job} cleanup running for '
                        f'{time.monotonic() - self._since:.1f} s')
            self._job, self._since = job, time.monotonic()
            return None

    def end(self):
        """Finish the running job."""
        with self._lock:
            self._job = None
