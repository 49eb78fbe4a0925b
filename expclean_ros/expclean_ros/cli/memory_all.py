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

"""``expclean memory --all``: one line per cleanup node on the graph (one per host)."""

import json
import time

from expclean_ros.cli.main import CliError
from expclean_ros.cli.memory_format import memory_dict
from expclean_ros.core.units import GIB, MIB

__all__ = ['memory_line', 'memory_all']


def memory_line(node, msg):
    """One host's snapshot on one line."""
    gpus = ', '.join(f'GPU{g.index} {g.used_bytes / GIB:.1f}/{g.total_bytes / GIB:.1f} GiB'
                     for g in msg.gpus) or f'GPU none ({msg.gpu_status or "no GPU"})'
    return (f'{node} ({msg.hostname}): RAM {msg.ram_used_bytes / GIB:.1f}/'
            f'{msg.ram_total_bytes / GIB:.1f} GiB ({msg.ram_percent:.1f} %), swap '
            f'{msg.swap_used_bytes / GIB:.1f}/{msg.swap_total_bytes / GIB:.1f} GiB, {gpus}, '
            f'DDS shm {msg.dds_shm_files} files {msg.dds_shm_bytes / MIB:.1f} MiB')


def memory_all(client, nodes, args, timeout_s):
    """
    Read every node at once, ``--watch``/``--count`` times.

    Return the exit status (1 when a node did not answer in the last reading).
    """
    from expclean_interfaces.srv import GetMemoryUsage

    from expclean_ros.ros.client import ClientError
    shown = 0
    while True:
        answers = client.call_many(GetMemoryUsage, [f'{n}/get_memory' for n in nodes],
                                   GetMemoryUsage.Request, timeout_s=timeout_s)
        lost = 0
        for node in nodes:
            answer = answers[f'{node}/get_memory']
            ok = not isinstance(answer, ClientError) and answer.success
            lost += not ok
            if args.json:
                print(json.dumps({'node': node, 'answered': ok,
                                  'memory': memory_dict(answer.memory) if ok else None,
                                  'message': '' if ok else str(getattr(answer, 'message',
                                                                       answer))}))
            elif ok:
                print(memory_line(node, answer.memory))
            else:
                print(f'{node}: NO ANSWER: {getattr(answer, "message", answer)}')
        shown += 1
        if not args.watch or (args.count and shown >= args.count):
            if len(nodes) < args.expect:
                raise CliError(f'{len(nodes)} of {args.expect} expected cleanup nodes found')
            return 1 if lost else 0
        time.sleep(args.interval)
