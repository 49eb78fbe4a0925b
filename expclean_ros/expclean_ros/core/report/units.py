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

"""Bytes and seconds as a person reads them (MiB below 10 GiB, GiB above)."""

from typing import Optional

__all__ = ['MIB', 'GIB', 'size', 'signed_size', 'seconds', 'DASH']

MIB = 2 ** 20
GIB = 2 ** 30
DASH = '\u2014'


def size(n: Optional[float]) -> str:
    """
    ``1.5 GiB``, ``160 MiB``, ``0.3 MiB``; a missing figure is a dash.

    >>> size(160 * MIB), size(3 * GIB), size(None) == DASH
    ('160 MiB', '3.00 GiB', True)
    """
    if n is None:
        return DASH
    if abs(n) >= 10 * GIB:
        return f'{n / GIB:.1f} GiB'
    if abs(n) >= GIB:
        return f'{n / GIB:.2f} GiB'
    if abs(n) >= 10 * MIB or n == 0:
        return f'{n / MIB:.0f} MiB'
    return f'{n / MIB:.1f} MiB'


def signed_size(n: Optional[float]) -> str:
    """``+160 MiB``, ``-2.0 MiB``."""
    if n is None:
        return DASH
    text = size(n)
    return text if text.startswith('-') else '+' + text


def seconds(s: Optional[float]) -> str:
    """``0.25 s``, ``12.3 s``, ``1:02:03``."""
    if s is None:
        return DASH
    if s >= 3600:
        s = int(round(s))
        return f'{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}'
    return f'{s:.2f} s' if s < 10 else f'{s:.1f} s'
