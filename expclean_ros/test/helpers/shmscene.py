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
Real processes and files for the shared-memory tests: holders, a run's process, pid reuse.

Every file is created with a name the test chose (a fresh token in it), and
every process is our child: a test removes and stops only what it made here.
"""

import os
import subprocess
import sys
import time
import uuid

HOLD = '''
import mmap, os, sys, time
path, how, size = sys.argv[1].replace('{pid}', str(os.getpid())), sys.argv[2], int(sys.argv[3])
if how in ('create', 'make'):
    with open(path, 'wb') as f:
        f.write(b'x' * size)
    keep = open(path, 'rb') if how == 'create' else None
elif how == 'map':
    fd = os.open(path, os.O_RDWR)
    keep = mmap.mmap(fd, 0)
    os.close(fd)
else:
    keep = open(path, 'rb')
print(os.getpid(), path, flush=True)
sys.stdin.readline()
'''


def token() -> str:
    return uuid.uuid4().hex[:12]


def write(path: str, size: int = 65536) -> str:
    with open(path, 'wb') as f:
        f.write(b'\1' * size)
    return path


class Proc:
    """
    A child that holds ``path``, creates it, or both, and stays until :meth:`stop`.

    It holds it (``open``, ``map``), creates and holds it (``create``) or only creates it
    (``make``, ``size`` bytes).
    ``{pid}`` in ``path`` becomes its own pid (``self.path``).
    """

    def __init__(self, path: str, how: str, size: int = 65536):
        self.popen = subprocess.Popen([sys.executable, '-c', HOLD, path, how, str(size)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL)
        pid, self.path = self.popen.stdout.readline().decode().split(' ', 1)
        self.pid, self.path = int(pid), self.path.strip()

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.stdin.close()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()  # our own child, by its pid
                self.popen.wait(10)


def spawn_with_pid(pid: int, path: str, how: str, tries: int = 50):
    """Return a :class:`Proc` that gets exactly ``pid`` (root: ``ns_last_pid``), else None."""
    for _ in range(tries):
        try:
            with open('/proc/sys/kernel/ns_last_pid', 'w') as f:
                f.write(str(pid - 1))
        except OSError:
            return None
        proc = Proc(path, how)
        if proc.pid == pid:
            return proc
        proc.stop()
        if os.path.exists(f'/proc/{pid}'):
            return None  # someone else's process has it now
        time.sleep(0.01)
    return None


def remove(paths) -> None:
    for path in paths:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
