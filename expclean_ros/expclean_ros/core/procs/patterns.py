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
Regular expressions over command lines, each search bounded in time.

A pattern may come from a peer on the ROS graph; Python's ``re`` cannot be
interrupted, so a catastrophic expression such as ``(a|aa)+$`` would hang the
caller. The ``regex`` module (``re``-compatible syntax) takes a ``timeout`` per
search and releases the GIL while it matches, so the node's other callbacks
keep running meanwhile.
"""

import time
from typing import Optional, Sequence, Tuple

import regex

__all__ = ['PatternTimeout', 'compile_all', 'first_match']


class PatternTimeout(ValueError):
    """Matching the patterns took longer than the time allowed."""


def compile_all(patterns: Sequence[str], what: str = 'patterns') -> Tuple['regex.Pattern', ...]:
    """
    Compile every pattern; ``ValueError`` names the first that is empty or invalid.

    >>> [p.pattern for p in compile_all(['ros2', 'bag_test'])]
    ['ros2', 'bag_test']
    >>> compile_all(['ros2 ('])
    Traceback (most recent call last):
    ...
    ValueError: invalid pattern 'ros2 (': missing ) at position 6
    """
    compiled = []
    for pattern in patterns:
        if not isinstance(pattern, str) or not pattern:
            raise ValueError(f'{what} must be non-empty regular expressions, got {pattern!r}')
        try:
            compiled.append(regex.compile(pattern))
        except (regex.error, OverflowError, RecursionError) as exc:
            raise ValueError(f'invalid {what[:-1]} {pattern!r}: {exc}') from None
    return tuple(compiled)


def first_match(compiled: Sequence['regex.Pattern'], text: str,
                deadline: Optional[float] = None) -> Optional['regex.Pattern']:
    """
    Return the first pattern found in ``text``, or None.

    :param deadline: ``time.monotonic()`` value after which matching stops
        with :class:`PatternTimeout`; None = no limit (trusted patterns).
    """
    for rx in compiled:
        if deadline is None:
            found = rx.search(text)
        else:
            left = deadline - time.monotonic()
            if left <= 0:
                raise PatternTimeout('matching the patterns ran out of time')
            try:
                found = rx.search(text, timeout=left, concurrent=True)
            except TimeoutError:
                raise PatternTimeout(f'pattern {rx.pattern!r} ran out of time') from None
        if found:
            return rx
    return None
