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

"""Memory health levels for diagnostics: OK / WARN / ERROR against thresholds."""

from collections import deque
from dataclasses import dataclass, replace
from typing import Tuple

from expclean_ros.core.units import GIB

__all__ = ['OK', 'WARN', 'ERROR', 'Health', 'Window', 'assess']

OK, WARN, ERROR = 0, 1, 2
_WORDS = {OK: 'OK', WARN: 'high', ERROR: 'critical'}


@dataclass(frozen=True)
class Health:
    """
    Health of one memory (RAM, swap, one GPU).

    :param name: ``RAM``, ``swap`` or ``GPU0 (name)``.
    :param level: OK, WARN or ERROR (the values of diagnostic_msgs' levels).
    :param message: one line, e.g. ``RAM high: 92.1 % (14.7 / 16.0 GiB)``.
    :param values: key/value pairs for the diagnostic status.
    """

    name: str
    level: int
    message: str
    values: Tuple[Tuple[str, str], ...]


def _one(name, used, total, warn, error):
    percent = 100.0 * used / total if total else 0.0
    level = ERROR if percent >= error else WARN if percent >= warn else OK
    message = (f'{name} {_WORDS[level]}: {percent:.1f} % '
               f'({used / GIB:.1f} / {total / GIB:.1f} GiB)')
    values = (('used_bytes', str(used)), ('total_bytes', str(total)),
              ('percent', f'{percent:.1f}'), ('warn_percent', f'{warn:g}'),
              ('error_percent', f'{error:g}'))
    return Health(name, level, message, values)


def assess(snapshot, thresholds) -> Tuple[Health, ...]:
    """
    Health of RAM, swap and each GPU in ``snapshot``.

    :param thresholds: mapping with ``ram_warn_percent``, ``ram_error_percent``,
        ``swap_*`` and ``gpu_*`` (the node's parameters).
    """
    t = thresholds
    out = [_one('RAM', snapshot.ram_used_bytes, snapshot.ram_total_bytes,
                t['ram_warn_percent'], t['ram_error_percent'])]
    if snapshot.swap_total_bytes:
        out.append(_one('swap', snapshot.swap_used_bytes, snapshot.swap_total_bytes,
                        t['swap_warn_percent'], t['swap_error_percent']))
    else:
        out.append(Health('swap', OK, 'swap: none configured', ()))
    for gpu in snapshot.gpus:
        out.append(_one(f'GPU{gpu.index} ({gpu.name})', gpu.used_bytes, gpu.total_bytes,
                        t['gpu_warn_percent'], t['gpu_error_percent']))
    return tuple(out)


class Window:
    """
    The mean of the last ``size`` memory snapshots, per resource (ram_monitor's window).

    :meth:`add` returns the newest snapshot with RAM, swap and each GPU's used
    bytes replaced by their mean over the window; totals stay the newest.
    """

    def __init__(self, size: int = 1):
        self._snapshots = deque(maxlen=max(1, int(size)))

    def resize(self, size: int) -> None:
        """Keep the newest ``size`` readings from now on."""
        size = max(1, int(size))
        if size != self._snapshots.maxlen:
            self._snapshots = deque(self._snapshots, maxlen=size)

    def add(self, snapshot):
        """Add a reading; return the smoothed snapshot."""
        self._snapshots.append(snapshot)
        window = self._snapshots

        def mean(values):
            values = list(values)
            return int(sum(values) / len(values))

        gpus = tuple(replace(g, used_bytes=mean(
            h.used_bytes for s in window for h in s.gpus if h.index == g.index))
            for g in snapshot.gpus)
        return replace(snapshot, ram_used_bytes=mean(s.ram_used_bytes for s in window),
                       swap_used_bytes=mean(s.swap_used_bytes for s in window), gpus=gpus)
