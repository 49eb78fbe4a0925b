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

"""A node's MemoryUsage as a plain dict (``--json``) or a readable table."""

from expclean_ros.core.units import GIB, MIB

__all__ = ['memory_dict', 'memory_table']


def memory_dict(msg):
    """Turn a MemoryUsage message into a plain dict (for --json and tests)."""
    return {
        'hostname': msg.hostname,
        'ram': {'total_bytes': msg.ram_total_bytes, 'used_bytes': msg.ram_used_bytes,
                'available_bytes': msg.ram_available_bytes, 'percent': round(msg.ram_percent, 1)},
        'swap': {'total_bytes': msg.swap_total_bytes, 'used_bytes': msg.swap_used_bytes,
                 'percent': round(msg.swap_percent, 1)},
        'gpus': [{'index': g.index, 'name': g.name, 'uuid': g.uuid, 'used_bytes': g.used_bytes,
                  'total_bytes': g.total_bytes,
                  'processes': [{'pid': p.pid, 'used_bytes': p.used_bytes}
                                for p in g.processes]} for g in msg.gpus],
        'gpu_status': msg.gpu_status,
        'dds_shm': {'files': msg.dds_shm_files, 'bytes': msg.dds_shm_bytes},
    }


def memory_table(msg):
    """Turn a MemoryUsage message into a readable table."""
    lines = [f'{msg.hostname}:',
             f'  RAM      {msg.ram_used_bytes / GIB:6.1f} / {msg.ram_total_bytes / GIB:.1f} GiB'
             f'  ({msg.ram_percent:.1f} %, {msg.ram_available_bytes / GIB:.1f} GiB available)',
             f'  swap     {msg.swap_used_bytes / GIB:6.1f} / {msg.swap_total_bytes / GIB:.1f} GiB']
    for g in msg.gpus:
        lines.append(f'  GPU{g.index}     {g.used_bytes / GIB:6.1f} / '
                     f'{g.total_bytes / GIB:.1f} GiB'
                     f'  {g.name}, {len(g.processes)} processes')
    if not msg.gpus:
        lines.append(f'  GPU      none: {msg.gpu_status or "no GPU"}')
    lines.append(f'  DDS shm  {msg.dds_shm_files} files, {msg.dds_shm_bytes / MIB:.1f} MiB')
    return '\n'.join(lines)
