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
A ledger per mode of ``bench_e2e.py``, so ``expclean report`` can show both ways.

Neither mode runs under ``expclean run`` (one is a plain ``ros2 launch`` loop), so
this writes what the bench measures in the ledger's own layout: the header, a
``started`` line and a ``run`` line per run with its exit code, duration, memory
before and after (RAM, swap, each GPU, and /dev/shm as ``shm_used_bytes``) and the
processes of the run still alive afterwards as ``leftovers`` (those not alive before
it: the bench's mark is shared by all runs of a mode, and leftovers accumulate). Peak and teardown
are not measured by the bench: the report shows them as missing.
"""

import os
import time

from expclean_ros.core.memory.probes import take_snapshot
from expclean_ros.core.runs.ledger import Ledger, header_record
from expclean_ros.core.runs.records import memory_record

__all__ = ['ModeLedger']


class ModeLedger:
    """One mode's ledger; :meth:`run` measures one bench run around ``fn``."""

    def __init__(self, folder, mode, runs, command, shm_bytes, marked):
        self.path = os.path.join(folder, f'{mode}.jsonl')
        if os.path.exists(self.path):
            os.remove(self.path)  # a bench's own output of an earlier run
        self.ledger = Ledger(self.path)
        self.ledger.append(header_record(f'bench_e2e.py {mode}', f'bench-e2e-{mode}', runs,
                                         command, ['mode']))
        self.mode, self.command = mode, command
        self.shm_bytes, self.marked = shm_bytes, marked

    def _memory(self):
        return dict(memory_record(take_snapshot()), shm_used_bytes=self.shm_bytes())

    def run(self, index, fn):
        run_id = f'{self.mode}-{index}'
        self.ledger.append({'type': 'started', 'index': index, 'run_id': run_id,
                            'started_at': time.time()})
        alive = {(c.pid, c.create_time) for c in self.marked()}
        before = self._memory()
        t0 = time.monotonic()
        result = fn()
        duration = time.monotonic() - t0
        after = self._memory()
        left = [c.as_dict() for c in self.marked() if (c.pid, c.create_time) not in alive]
        code = result['exit']
        self.ledger.append({
            'type': 'run', 'index': index, 'row': {'mode': self.mode}, 'run_id': run_id,
            'command': self.command, 'status': 'ok' if code == 0 else 'failed',
            'exit_code': code, 'detail': f'Ctrl-C, then exited with {code}',
            'duration_s': duration, 'memory': {'before': before, 'after': after},
            'leftovers': left, 'finished_at': time.time(),
            'overhead_s': result['seconds']})
        return result

    def close(self):
        self.ledger.close()
