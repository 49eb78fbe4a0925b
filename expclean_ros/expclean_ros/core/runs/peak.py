"""The peak memory of a run while it lives."""

from typing import Dict

from ..memory.gpu import read_gpus
from ..memory.probes import ram_used_bytes

__all__ = ['PeakSampler']


class PeakSampler:
    """Largest RAM and per-GPU use seen while a run lives."""

    def __init__(self):
        self.ram = 0
        self.gpus: Dict[int, int] = {}

    def sample(self) -> None:
        self.ram = max(self.ram, ram_used_bytes())
        for g in read_gpus()[0]:
            self.gpus[g.index] = max(self.gpus.get(g.index, 0), g.used_bytes)

    def as_dict(self) -> dict:
        return {'ram_used_bytes': self.ram,
                'gpus': [{'index': i, 'used_bytes': b} for i, b in sorted(self.gpus.items())]}
