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
A batch split over machines: shard ``K/N`` runs rows K, K+N, K+2N, ... of the table.

Each shard writes an ordinary ledger of its own (the table's fingerprint, all of the
table's runs counted), whose header also names the shard: ``"shard": {"index": K,
"count": N}``. Run indexes stay the table's, so shard ledgers merge into one report.
With a Slurm job array: ``--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT``
(``sbatch --array=0-2`` gives ids 0, 1, 2 and a count of 3).
"""

import re
from typing import Optional, Tuple

__all__ = ['Shard', 'parse_shard', 'shard_rows', 'shard_record', 'check_ledger_shard']

#: (K, N): shard K of N, 0 <= K < N.
Shard = Tuple[int, int]


def parse_shard(text: str) -> Shard:
    """
    ``'K/N'`` as (K, N).

    >>> parse_shard('1/3')
    (1, 3)
    """
    match = re.fullmatch(r'\s*(\d{1,6})\s*/\s*(\d{1,6})\s*', text or '')
    if not match:
        raise ValueError(f'--shard must be K/N with whole numbers, 0 <= K < N (e.g. 0/3, or '
                         f'$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT), got {text!r}')
    k, n = int(match.group(1)), int(match.group(2))
    if not 0 <= k < n:
        raise ValueError(f'--shard {text}: K must be at least 0 and below N (shards are '
                         f'numbered 0 to N-1, as Slurm array task ids from --array=0-{n - 1})')
    return k, n


def shard_rows(total: int, shard: Optional[Shard]) -> Tuple[int, ...]:
    """
    Return the row indexes a shard runs: all rows without one.

    >>> shard_rows(7, (1, 3))
    (1, 4)
    """
    if shard is None:
        return tuple(range(total))
    k, n = shard
    rows = tuple(range(k, total, n))
    if not rows:
        raise ValueError(f'shard {k}/{n} has no rows: the table has only {total} '
                         f'(use at most {total} shards)')
    return rows


def shard_record(shard: Optional[Shard]) -> Optional[dict]:
    """Return the header's ``shard`` field."""
    return None if shard is None else {'index': shard[0], 'count': shard[1]}


def check_ledger_shard(header: dict, shard: Optional[Shard], path: str) -> None:
    """Refuse continuing a ledger written for another shard (or for no shard)."""
    held = header.get('shard')
    if held != shard_record(shard):
        def name(record):
            return 'no shard' if record is None else \
                f'shard {record.get("index")}/{record.get("count")}'
        raise ValueError(f'ledger {path} was written for {name(held)}, not for '
                         f'{name(shard_record(shard))}; give each shard its own --ledger '
                         f'(e.g. ledger-$SLURM_ARRAY_TASK_ID.jsonl)')
