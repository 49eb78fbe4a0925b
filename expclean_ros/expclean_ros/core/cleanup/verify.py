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
Is the machine back where the run found it? RAM, /dev/shm, swap and each GPU, compared.

:func:`verify` compares a snapshot taken after the cleanup with the one taken
before the run (and ``/dev/shm`` with a :class:`~..memory.shm_record.ShmRecord`
of that time). Whatever is above its level by more than the tolerance is
named, with the biggest contributors: the new ``/dev/shm`` files by kind and
holder (``30 torch_* files held by nobody``), processes started since that
are still alive (by resident memory), the processes NVML sees on a GPU.

Without a snapshot (a node's Trigger services have no before-run figure), only
``/dev/shm`` growth since the record is judged.
"""

import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from ..memory.attribution import Attribution
from ..memory.run_shm import family
from ..memory.shm_holders import process_label, scan_holders
from ..memory.shm_record import ShmRecord, list_entries
from ..procs import proctable
from ..units import MIB, mib

__all__ = ['Verification', 'verify', 'DEFAULT_VERIFY_TOLERANCE_BYTES']

#: Above the noise of a busy machine (the settling tolerance).
DEFAULT_VERIFY_TOLERANCE_BYTES = 32 * MIB
_TOP = 3
_PAGE = os.sysconf('SC_PAGE_SIZE')


@dataclass(frozen=True)
class Verification:
    """
    The verdict: ``clean`` when nothing is above its level by more than the tolerance.

    :param excess_bytes: RAM (or /dev/shm, whichever is more: /dev/shm is RAM)
        plus swap plus every GPU, above their levels; 0 when clean.
    :param excess: ``(what, bytes above)`` for each resource above tolerance,
        e.g. ``('RAM', 167772160)``, ``('/dev/shm', ...)``, ``('GPU0', ...)``.
    :param contributors: readable lines, biggest first.
    :param line: the one-line verdict for messages.
    :param shm_excess_bytes: allocated bytes of /dev/shm entries new since the record.
    :param attribution: RAM growth accounted to the run, other processes and the kernel
        (None: not taken); only the run's share can make the verdict ``not back``.
    :param elsewhere: what grew outside the run, when it passed the tolerance (else '').
    """

    clean: bool
    excess_bytes: int
    excess: Tuple[Tuple[str, int], ...]
    contributors: Tuple[str, ...]
    line: str
    shm_excess_bytes: int = 0
    since: str = 'before the run'
    attribution: Optional[Attribution] = None
    elsewhere: str = ''

    def as_dict(self) -> dict:
        return {'clean': self.clean, 'excess_bytes': self.excess_bytes,
                'excess': [list(e) for e in self.excess],
                'contributors': list(self.contributors), 'line': self.line,
                'shm_excess_bytes': self.shm_excess_bytes, 'since': self.since,
                'attribution': self.attribution.as_dict() if self.attribution else None,
                'elsewhere': self.elsewhere}


def _shm_contributors(record: ShmRecord) -> Tuple[int, List[Tuple[int, str]]]:
    """(bytes of entries new since ``record``, [(bytes, 'N kind files held by ...')])."""
    if record.reason:
        return 0, []
    try:
        new = [e for e in list_entries(record.root).values() if not record.existed(e)]
    except OSError:
        return 0, []
    total = sum(e.allocated for e in new)
    return total, _by_holder(record.root, new) if new else []


def _by_holder(root, new) -> List[Tuple[int, str]]:
    holders = scan_holders(root)
    groups: Dict[Tuple[str, str], List[int]] = {}
    for entry in new:
        pids = holders.holders(entry.key)
        who = process_label(pids[0]) if pids else 'nobody'
        groups.setdefault((family(entry.name), who), []).append(entry.allocated)
    out = []
    for (kind, who), sizes in groups.items():
        files = 'file' if len(sizes) == 1 else 'files'
        out.append((sum(sizes), f'/dev/shm +{mib(sum(sizes))} in {len(sizes)} {kind} {files} '
                                f'held by {who}'))
    return sorted(out, reverse=True)


def _new_processes(since_ticks: Optional[int]) -> List[Tuple[int, str]]:
    """Process started after ``since_ticks`` and alive now, by resident memory."""
    if since_ticks is None:
        return []
    out = []
    for pid, info in proctable.snapshot().items():
        if info.start_ticks <= since_ticks or info.zombie or info.kernel_thread \
                or pid == os.getpid():
            continue
        try:
            rss = int(proctable.read_bytes(f'/proc/{pid}/statm').split()[1]) * _PAGE
        except (OSError, IndexError, ValueError):
            continue
        out.append((rss, f'{process_label(pid)} {mib(rss)} resident, started during the run'))
    return sorted(out, reverse=True)[:_TOP]


def _run_processes(attribution: Attribution) -> List[Tuple[int, str]]:
    """Return the run's live processes that hold most: what its RAM excess is made of."""
    return [(n, f'{process_label(pid)} {mib(n)} anonymous, of the run')
            for pid, n in attribution.run]


def verify(before=None, after=None, record: Optional[ShmRecord] = None, *,
           tolerance_bytes: int = DEFAULT_VERIFY_TOLERANCE_BYTES,
           since_ticks: Optional[int] = None, since: str = 'before the run',
           attribution: Optional[Attribution] = None) -> Verification:
    """
    Compare ``after`` with ``before`` (MemorySnapshots) and /dev/shm with ``record``.

    :param since_ticks: boot ticks when the run started: live processes started
        later are named as contributors of a RAM excess.
    :param since: how the level is named in the line (``before the run``,
        ``at the previous cleanup``).
    :param attribution: the RAM growth accounted (:func:`..memory.attribution.attribute`):
        RAM is judged by the run's share, what grew elsewhere follows the verdict.
    """
    excess: List[Tuple[str, int]] = []
    named: List[str] = []  # /dev/shm first (exact, by holder), then processes, then GPUs
    gpu_lines: List[Tuple[int, str]] = []
    shm_bytes, shm_lines = (_shm_contributors(record) if record is not None else (0, []))
    ram = swap = gpus = 0
    procs: List[Tuple[int, str]] = []
    if before is not None and after is not None:
        ram = after.ram_used_bytes - before.ram_used_bytes
        if attribution is not None:
            ram = attribution.run_bytes
        if ram > tolerance_bytes:
            excess.append(('RAM', ram))
            procs = (_run_processes(attribution) if attribution is not None
                     else _new_processes(since_ticks))
        swap = after.swap_used_bytes - before.swap_used_bytes
        if swap > tolerance_bytes:
            excess.append(('swap', swap))
        levels = {g.index: g.used_bytes for g in before.gpus}
        for g in after.gpus:
            above = g.used_bytes - levels.get(g.index, g.used_bytes)
            if above > tolerance_bytes:
                excess.append((f'GPU{g.index}', above))
                gpus += above
                gpu_lines += [(p.used_bytes, f'GPU{g.index} {mib(p.used_bytes)} held by '
                               f'{process_label(p.pid)}') for p in g.processes]
    if shm_bytes > tolerance_bytes:
        excess.append(('/dev/shm', shm_bytes))
        named += [text for _, text in shm_lines[:_TOP]]
    elsewhere = _elsewhere(attribution, tolerance_bytes, since, before is not None)
    tail = f'; {elsewhere}' if elsewhere else ''
    if not excess:
        return Verification(True, 0, (), (), f'back at the level {since}{tail}', shm_bytes,
                            since, attribution, elsewhere)
    named += [text for _, text in procs[:_TOP - 1]]
    named += [text for _, text in sorted(gpu_lines, reverse=True)[:_TOP - 1]]
    total = max(max(ram, 0), shm_bytes) + max(swap, 0) + gpus
    head = ', '.join(f'{what} +{mib(n)}' for what, n in excess)
    line = f'not back: {head} above the level {since}'
    line += ((': ' + '; '.join(named)) if named else '') + tail
    return Verification(False, total, tuple(excess), tuple(named), line, shm_bytes, since,
                        attribution, elsewhere)


def _elsewhere(attribution: Optional[Attribution], tolerance_bytes: int, since: str,
               judged: bool) -> str:
    """
    Name what grew outside the run, when it passed the tolerance or the RAM growth did.

    Where no run is told apart (``judged`` False: a node's cleanup, no memory before a
    run), what grew is named as RAM grown since the level, not as elsewhere.
    """
    if attribution is None or attribution.elsewhere_bytes <= 0:
        return ''
    if attribution.elsewhere_bytes <= tolerance_bytes and attribution.ram_bytes <= tolerance_bytes:
        return ''
    if not judged:
        return attribution.named(f'RAM +{mib(attribution.ram_bytes)} '
                                 f'{since.replace("at ", "since ", 1)}')
    return attribution.elsewhere()
