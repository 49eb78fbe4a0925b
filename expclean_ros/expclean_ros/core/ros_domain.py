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
ROS_DOMAIN_ID: which values a ROS 2 process can join, and which are safe on Linux.

From the ROS 2 documentation ("The ROS_DOMAIN_ID"): the DDS ports of a domain
above 232 do not fit in 16 bits (Fast DDS then ends the process); 0-101 and
215-232 stay clear of Linux's ephemeral ports, 102-214 may collide with them.
"""

from typing import Optional

__all__ = ['MAX_DOMAIN_ID', 'SAFE_DOMAIN_RANGES', 'parse_domain_id', 'domain_id', 'safe_domain',
           'safe_ranges_text']

MAX_DOMAIN_ID = 232
SAFE_DOMAIN_RANGES = ((0, 101), (215, MAX_DOMAIN_ID))


def parse_domain_id(value: Optional[str]) -> Optional[int]:
    """
    Return a ``ROS_DOMAIN_ID`` value as a number; unset or empty = 0; ``None`` when not a number.

    Only ASCII digits count: ``str.isdigit`` also accepts e.g. ``'\u00b2'``,
    which ``int`` refuses.
    """
    value = (value or '').strip()
    if not value:
        return 0
    return int(value) if value.isascii() and value.isdecimal() else None


def domain_id(text: Optional[str]) -> Optional[int]:
    """
    Return the domain ``text`` names (unset or '' = 0, the default).

    Or None when it names none a ROS 2 process can join.

    >>> domain_id(''), domain_id(' 66 '), domain_id('233'), domain_id('x')
    (0, 66, None, None)
    """
    number = parse_domain_id(text)
    return number if number is not None and number <= MAX_DOMAIN_ID else None


def safe_domain(domain: int) -> bool:
    """
    Return True for a domain clear of Linux's ephemeral ports.

    >>> safe_domain(101), safe_domain(150), safe_domain(215)
    (True, False, True)
    """
    return any(low <= domain <= high for low, high in SAFE_DOMAIN_RANGES)


def safe_ranges_text() -> str:
    """
    Return the safe ranges as a remedy says them.

    >>> safe_ranges_text()
    '0-101 (or 215-232)'
    """
    (low, high), (low2, high2) = SAFE_DOMAIN_RANGES
    return f'{low}-{high} (or {low2}-{high2})'
