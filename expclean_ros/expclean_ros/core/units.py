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
Units and how bytes and seconds are written: the one place for both (no expclean imports).

``size`` picks MiB below 10 GiB and GiB above; ``gib`` and ``mib`` are the fixed-unit forms of
the one-line summaries; ``seconds`` and ``clock`` write durations.
"""

from typing import Optional

__all__ = ['KIB', 'MIB', 'GIB', 'DASH', 'size', 'signed_size', 'gib', 'mib', 'small_size',
           'seconds', 'clock']

KIB = 2 ** 10
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
    """
    ``+160 MiB``, ``-2.0 MiB``.

    >>> signed_size(160 * MIB), signed_size(-2 * MIB)
    ('+160 MiB', '-2.0 MiB')
    """
    if n is None:
        return DASH
    text = size(n)
    return text if text.startswith('-') else '+' + text


def gib(n: float) -> str:
    """
    Bytes as GiB with one decimal and no unit, for ``used/total GiB`` lines.

    >>> gib(3 * GIB), gib(GIB // 2)
    ('3.0', '0.5')
    """
    return f'{n / GIB:.1f}'


def mib(n: float) -> str:
    """
    Bytes as MiB with one decimal.

    >>> mib(48 * MIB), mib(0)
    ('48.0 MiB', '0.0 MiB')
    """
    return f'{n / MIB:.1f} MiB'


def small_size(n: float) -> str:
    """
    Bytes as KiB below 1 MiB, else MiB, one decimal (the Fast DDS segments are small).

    >>> small_size(512), small_size(3 * MIB)
    ('0.5 KiB', '3.0 MiB')
    """
    return f'{n / KIB:.1f} KiB' if n < MIB else mib(n)


def clock(s: float) -> str:
    """
    Seconds as ``H:MM:SS``, rounded to the second.

    >>> clock(3723.4), clock(59.6)
    ('1:02:03', '0:01:00')
    """
    s = int(round(s))
    return f'{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}'


def seconds(s: Optional[float]) -> str:
    """
    ``0.25 s``, ``12.3 s``, ``1:02:03``; a missing figure is a dash.

    >>> seconds(0.25), seconds(12.34), seconds(3723)
    ('0.25 s', '12.3 s', '1:02:03')
    """
    if s is None:
        return DASH
    if s >= 3600:
        return clock(s)
    return f'{s:.2f} s' if s < 10 else f'{s:.1f} s'
