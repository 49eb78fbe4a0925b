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
The parts of a ledger's ``run`` line as typed records: memory readings, steps, teardown, cleanup.

Each record's ``as_dict()`` is the JSON written; ``from_dict()`` never raises on a
missing or mistyped field: that field reads as None (never zero), and keys it does
not model are kept in ``rest`` and written back unchanged.
"""

from dataclasses import dataclass, field, fields
from typing import Any, Dict, Mapping, Optional, Tuple

__all__ = ['NUMBER', 'Record', 'dicts', 'number', 'pick', 'GpuReading', 'MemoryReading',
           'RunMemory', 'StepRecord', 'TeardownSummary', 'VerifyRecord', 'CleanupRecord',
           'MOMENTS']

#: A number as JSON gives it (``numbers.Real`` would check through its ABC, slower).
NUMBER = (int, float)
#: The four memory readings of a run, in the ledger's words and the report's.
MOMENTS = (('before', 'before'), ('peak', 'peak'), ('after_teardown', 'after teardown'),
           ('after', 'after cleanup'))


def pick(record, path: str):
    """Return the value at a dotted ``path`` of nested dicts, or None where any part is missing."""
    node = record
    for part in path.split('.'):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def number(record, path: str) -> Optional[float]:
    """Return a number at ``path`` (not a bool), else None."""
    value = pick(record, path)
    if isinstance(value, bool) or not isinstance(value, NUMBER):
        return None
    return value


def _of(kind, value):
    """``value`` when it is a ``kind`` (a bool is no number), else None."""
    if isinstance(value, bool) and kind is not bool:
        return None
    return value if isinstance(value, kind) else None


def dicts(value) -> Tuple[dict, ...]:
    """Return the dicts of a list (a JSON array), or () when ``value`` is no list."""
    return tuple(v for v in value if isinstance(v, dict)) if isinstance(value, list) else ()


class Record:
    """``from_dict`` / ``as_dict`` by the dataclass's own fields; ``rest``: the other keys."""

    _TYPES: Mapping[str, Any] = {}  # field -> type checked on reading (else kept as read)
    _NESTED: Mapping[str, Any] = {}  # field -> record class read from a dict
    _OPTIONAL: Tuple[str, ...] = ()  # fields written only when known (others: null)

    @classmethod
    def _names(cls) -> Tuple[str, ...]:
        """Return the fields written (all but ``rest``), found once per class."""
        names = cls.__dict__.get('_FIELD_NAMES')
        if names is None:
            names = tuple(f.name for f in fields(cls) if f.name != 'rest')
            cls._FIELD_NAMES = names
            cls._FIELD_SET = frozenset(names)
        return names

    @classmethod
    def from_dict(cls, data):
        """Return the record of ``data``, or None when it is not a dict."""
        if not isinstance(data, dict):
            return None
        names = cls._names()
        values = {}
        for name in names:
            if name in cls._NESTED:
                values[name] = cls._NESTED[name].from_dict(data.get(name))
            elif name in cls._TYPES:
                values[name] = _of(cls._TYPES[name], data.get(name))
            elif name in data:
                values[name] = cls._read(name, data[name])
        known = cls._FIELD_SET
        return cls(**values, rest={k: v for k, v in data.items() if k not in known})

    @classmethod
    def _read(cls, name, value):
        return value

    def as_dict(self) -> dict:
        """Return the JSON written: every field (not an unknown optional one), then ``rest``."""
        out = {}
        for name in self._names():
            value = getattr(self, name)
            if value is None and name in self._OPTIONAL:
                continue
            out[name] = self._write(value)
        out.update(self.rest)
        return out

    @staticmethod
    def _write(value):
        if isinstance(value, Record):
            return value.as_dict()
        if isinstance(value, tuple):
            return [Record._write(v) for v in value]
        return dict(value) if isinstance(value, Mapping) else value


@dataclass(frozen=True)
class GpuReading(Record):
    """One GPU's memory in a reading (a peak holds no name nor total)."""

    index: Optional[int] = None
    name: Optional[str] = None
    used_bytes: Optional[int] = None
    total_bytes: Optional[int] = None
    rest: Mapping[str, Any] = field(default_factory=dict)
    _TYPES = {'index': int, 'name': str, 'used_bytes': NUMBER,
              'total_bytes': NUMBER}
    _OPTIONAL = ('name', 'total_bytes')


@dataclass(frozen=True)
class MemoryReading(Record):
    """Memory in use at one moment of a run; ``shm_used_bytes``: /dev/shm in use (version 2)."""

    ram_used_bytes: Optional[int] = None
    ram_total_bytes: Optional[int] = None
    swap_used_bytes: Optional[int] = None
    shm_used_bytes: Optional[int] = None
    gpus: Tuple[GpuReading, ...] = ()
    gpu_status: Optional[str] = None
    rest: Mapping[str, Any] = field(default_factory=dict)
    _TYPES = {'ram_used_bytes': NUMBER, 'ram_total_bytes': NUMBER,
              'swap_used_bytes': NUMBER, 'shm_used_bytes': NUMBER,
              'gpu_status': str}
    _OPTIONAL = ('ram_total_bytes', 'swap_used_bytes', 'shm_used_bytes', 'gpu_status')

    @classmethod
    def _read(cls, name, value):
        return tuple(GpuReading.from_dict(g) for g in dicts(value))  # gpus

    def in_use(self) -> Dict[str, float]:
        """Resource name -> bytes in use: RAM, /dev/shm, swap, each GPU (known figures only)."""
        out = {'RAM': self.ram_used_bytes, '/dev/shm': self.shm_used_bytes,
               'swap': self.swap_used_bytes}
        for g in self.gpus:
            if g.index is not None:
                out[f'GPU{g.index}'] = g.used_bytes
        return {k: v for k, v in out.items() if v is not None}


@dataclass(frozen=True)
class RunMemory(Record):
    """The run's four memory readings (see :data:`MOMENTS`)."""

    before: Optional[MemoryReading] = None
    peak: Optional[MemoryReading] = None
    after_teardown: Optional[MemoryReading] = None
    after: Optional[MemoryReading] = None
    rest: Mapping[str, Any] = field(default_factory=dict)
    _NESTED = {'before': MemoryReading, 'peak': MemoryReading,
               'after_teardown': MemoryReading, 'after': MemoryReading}
    _OPTIONAL = tuple(k for k, _ in MOMENTS)


@dataclass(frozen=True)
class StepRecord(Record):
    """A step after the run: removing what it left in /dev/shm, restarting the ROS 2 daemon."""

    name: Optional[str] = None
    status: Optional[str] = None
    detail: Optional[str] = None
    seconds: Optional[float] = None
    data: Optional[Mapping[str, Any]] = None
    rest: Mapping[str, Any] = field(default_factory=dict)
    _TYPES = {'name': str, 'status': str, 'detail': str, 'seconds': NUMBER, 'data': dict}


@dataclass(frozen=True)
class TeardownSummary(Record):
    """What the teardown of the run's tag did; ``processes``: one dict per process, its stage."""

    stopped: Optional[int] = None
    left: Optional[int] = None
    killed: Optional[int] = None
    mechanism: Optional[str] = None
    seconds: Optional[float] = None
    processes: Optional[Tuple[dict, ...]] = None
    rest: Mapping[str, Any] = field(default_factory=dict)
    _TYPES = {'stopped': int, 'left': int, 'killed': int, 'mechanism': str,
              'seconds': NUMBER}

    @classmethod
    def _read(cls, name, value):
        return dicts(value) if isinstance(value, list) else None  # processes


@dataclass(frozen=True)
class VerifyRecord(Record):
    """The runner's check that memory came back to its level before the run."""

    clean: Optional[bool] = None
    excess_bytes: Optional[float] = None
    line: Optional[str] = None
    shm_excess_bytes: Optional[float] = None
    rest: Mapping[str, Any] = field(default_factory=dict)
    _TYPES = {'clean': bool, 'excess_bytes': NUMBER, 'line': str,
              'shm_excess_bytes': NUMBER}


@dataclass(frozen=True)
class CleanupRecord(Record):
    """The between-runs cleanup (:func:`..records.cleanup_record`); ``hosts``: one per node."""

    plan: Optional[str] = None
    success: Optional[bool] = None
    skipped: Optional[bool] = None
    message: Optional[str] = None
    seconds: Optional[float] = None
    clean: Optional[bool] = None
    hosts: Optional[Tuple[dict, ...]] = None
    rest: Mapping[str, Any] = field(default_factory=dict)
    _TYPES = {'plan': str, 'success': bool, 'skipped': bool, 'message': str,
              'seconds': NUMBER, 'clean': bool}
    _OPTIONAL = ('clean', 'hosts')

    @classmethod
    def _read(cls, name, value):
        return dicts(value) if isinstance(value, list) else None  # hosts
