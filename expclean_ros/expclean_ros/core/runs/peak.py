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

"""The peak memory of a run while it lives."""

from typing import Dict, Optional

from ..memory.gpu import read_gpus
from ..memory.probes import ram_used_bytes, shm_used_bytes

__all__ = ['PeakSampler']


class PeakSampler:
    """Largest RAM, /dev/shm and per-GPU use seen while a run lives."""

    def __init__(self):
        self.ram = 0
        self.shm: Optional[int] = None
        self.gpus: Dict[int, int] = {}

    def sample(self) -> None:
        self.ram = max(self.ram, ram_used_bytes())
        shm = shm_used_bytes()
        if shm is not None:
            self.shm = shm if self.shm is None else max(self.shm, shm)
        for g in read_gpus()[0]:
            self.gpus[g.index] = max(self.gpus.get(g.index, 0), g.used_bytes)

    def as_dict(self) -> dict:
        return {'ram_used_bytes': self.ram, 'shm_used_bytes': self.shm,
                'gpus': [{'index': i, 'used_bytes': b} for i, b in sorted(self.gpus.items())]}
