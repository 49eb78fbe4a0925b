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
Readable one-line text for memory snapshots, steps and cleanup reports.

Shared by the plans (a report's ``message``), the drop-in ``cleanup_utils`` module's
verbose output, the node and the CLI, so every front end says the same thing.
"""

__all__ = ['memory_line', 'step_line', 'report_line', 'processes_from_steps']

from ..procs.outcome import processes
from ..units import MIB, gib, mib

_SHORT = 60


def memory_line(snap) -> str:
    """``RAM 3.2/23.5 GiB (14%), swap 0.0/0.0 GiB, GPU0 1.0/80.0 GiB`` for a MemorySnapshot."""
    parts = [f'RAM {gib(snap.ram_used_bytes)}/{gib(snap.ram_total_bytes)} GiB '
             f'({snap.ram_percent:.0f}%)',
             f'swap {gib(snap.swap_used_bytes)}/{gib(snap.swap_total_bytes)} GiB']
    if snap.gpus:
        parts += [f'GPU{g.index} {gib(g.used_bytes)}/{gib(g.total_bytes)} GiB' for g in snap.gpus]
    else:
        parts.append(f'no GPU ({snap.gpu_status})' if snap.gpu_status else 'no GPU')
    if snap.dds_shm_files:
        parts.append(f'DDS shm {snap.dds_shm_files} files {mib(snap.dds_shm_bytes)}')
    return ', '.join(parts)


def _short_reason(step) -> str:
    reason = step.data.get('reason') if isinstance(step.data, dict) else None
    text = str(reason) if reason else step.detail
    return text if len(text) <= _SHORT else text[:_SHORT - 3] + '...'


def step_line(step) -> str:
    """``drop_caches: skipped (not permitted: ...) [0.00 s]`` for a StepResult."""
    return f'{step.name}: {step.status} - {step.detail} [{step.seconds:.2f} s]'


def _count(value):
    if value is None:
        return None
    if isinstance(value, (list, tuple, set, dict)):
        return len(value)
    return int(value)


def processes_from_steps(steps):
    """Return ``(stopped, left)`` from the teardown step's data; ``(0, 0)`` when it did not run."""
    for step in steps:
        if step.name == 'teardown' and step.status != 'skipped' and isinstance(step.data, dict):
            stopped = _count(step.data.get('stopped'))
            if stopped is None:
                stopped = _count(step.data.get('processes')) or 0
            return stopped, _count(step.data.get('left')) or 0
    return 0, 0


def report_line(report) -> str:
    """
    One line a person can act on, e.g.

    ``comprehensive ok in 0.84 s: stopped 4 processes (0 left), RAM 12.1->9.8 GiB, GPU0 3.2->0.4
    GiB, drop_caches skipped (not permitted)``.
    """
    head = f'{report.plan} {"ok" if report.success else "failed"} in {report.seconds:.2f} s'
    parts = []
    if any(s.name == 'teardown' and s.status != 'skipped' for s in report.steps):
        parts.append(f'stopped {processes(report.processes_stopped)} '
                     f'({report.processes_left} left)')
    before, after = report.memory_before, report.memory_after
    if before is not None and after is not None:
        parts.append(f'RAM {gib(before.ram_used_bytes)}->{gib(after.ram_used_bytes)} GiB')
        after_gpus = {g.index: g for g in after.gpus}
        for g in before.gpus:
            if g.index in after_gpus:
                parts.append(f'GPU{g.index} {gib(g.used_bytes)}->'
                             f'{gib(after_gpus[g.index].used_bytes)} GiB')
    if report.settle is not None:
        s = report.settle
        if 'interrupted' in s.reason:
            parts.append(s.reason)
        elif s.samples == 0:
            parts.append(f'waited {s.seconds:.1f} s (fixed)')
        elif s.settled:
            parts.append(f'settled in {s.seconds:.2f} s')
            if s.writeback_wait_s > 0:
                parts.append(f'{s.writeback_wait_s:.2f} s of it for writeback')
        else:
            parts.append(f'not settled after {s.seconds:.1f} s cap')
    for step in report.steps:
        if step.status != 'ok':
            parts.append(f'{step.name} {step.status} ({_short_reason(step)})')
        else:
            done = _changed(step)
            if done:
                parts.append(done)
    checked = getattr(report, 'verification', None)
    if checked is not None:
        parts.append(checked.line)
    return head + (': ' + ', '.join(parts) if parts else '')


def _changed(step) -> str:
    """
    Return what an ``ok`` step changed on the machine, for the one line.

    '' when nothing that reaches beyond the process: gc, an empty DDS clean-up, the teardown said
    above.
    """
    data = step.data if isinstance(step.data, dict) else {}
    if step.name in ('dds_shm', 'run_shm') and data.get('files'):
        what = 'DDS shm' if step.name == 'dds_shm' else '/dev/shm'
        return f"{what} freed {data['files']} files {mib(data.get('bytes', 0))}"
    if step.name == 'drop_caches':  # machine-wide: always said
        return f"drop_caches ok ({data.get('freed_bytes', 0) / MIB:.0f} MiB of cache freed)"
    if step.name == 'gpu_reset':
        return f'gpu_reset ok ({step.detail})'
    if step.name.startswith('hook'):
        return f'{step.name} ok'
    return ''
