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
A real PyTorch + ROS 2 experiment that crashes: the tests' and the bench's run.

``python torch_pipeline.py OUT [--strategy file_system] [--node] [--psm MIB] [--go PATH]``

A ``torch.utils.data.DataLoader`` with two workers and the given sharing
strategy takes 6 batches of 4 x 4 MiB, a ``multiprocessing.shared_memory``
segment of ``--psm`` MiB is made (0: none), an rclpy node publishes a few
messages (``--node``); then it writes ``OUT`` (JSON: its pid and the
``/dev/shm`` files it holds), waits for ``--go`` to exist (if given; at most
120 s) and dies by SIGKILL, as a crash does.
"""

import argparse
import json
import os
import signal
import sys
import time


def held_shm():
    """Names of the /dev/shm files this process maps now."""
    names = set()
    with open('/proc/self/maps') as f:
        for line in f:
            if ' /dev/shm/' in line:
                names.add(line.split('/dev/shm/', 1)[1].split()[0])
    return sorted(names)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('out')
    parser.add_argument('--strategy', default='file_system')
    parser.add_argument('--node', action='store_true')
    parser.add_argument('--psm', type=int, default=0)
    parser.add_argument('--go', default='')
    args = parser.parse_args()
    import torch
    from torch.utils.data import DataLoader, Dataset
    torch.multiprocessing.set_sharing_strategy(args.strategy)

    class Batches(Dataset):
        def __len__(self):
            return 40

        def __getitem__(self, i):
            return torch.full((1024 * 1024,), float(i))  # 4 MiB

    batches = []
    loader = iter(DataLoader(Batches(), batch_size=4, num_workers=2))
    for batch in loader:
        batches.append(batch)
        if len(batches) == 6:
            break
    keep = []
    if args.psm:
        from multiprocessing import shared_memory
        segment = shared_memory.SharedMemory(create=True, size=args.psm * 2**20)
        segment.buf[:] = b'\1' * len(segment.buf)
        keep.append(segment)
    if args.node:
        keep.append(_publish())  # the node lives until the crash
    workers = [w.pid for w in getattr(loader, '_workers', [])]
    with open(args.out + '.tmp', 'w') as f:
        json.dump({'pid': os.getpid(), 'workers': workers, 'held': held_shm()}, f)
    os.rename(args.out + '.tmp', args.out)
    deadline = time.monotonic() + 120
    while args.go and not os.path.exists(args.go) and time.monotonic() < deadline:
        time.sleep(0.02)
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _publish():
    import rclpy
    from std_msgs.msg import String
    rclpy.init()
    node = rclpy.create_node('torch_pipeline')
    pub = node.create_publisher(String, 'pipeline', 10)
    for i in range(5):
        pub.publish(String(data=f'batch {i}'))
        time.sleep(0.01)
    return node, pub


if __name__ == '__main__':
    main()
