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

"""A child that allocates memory in steps, then frees it on a byte from the parent."""

import os
import select
import subprocess
import sys
import time

# A child that allocates TOTAL MiB in STEP MiB chunks every STEP_S seconds (touching every
# page), then, on a byte from the parent, frees one chunk every FREE_STEP_S seconds (0: all
# at once). It reports "start|allocated|freed <monotonic>" lines on stdout, a pipe only the
# parent holds, and exits when its stdin closes.
CHILD = r'''
import os, sys, time
total, step = int(sys.argv[1]), int(sys.argv[2])
step_s, free_step_s = float(sys.argv[3]), float(sys.argv[4])
def say(what):
    os.write(1, f"{what} {time.monotonic()}\n".encode())
chunks = []
for i in range(total // step):
    chunks.append(bytearray(b"\x01") * (step << 20))
    if i == 0:
        say("start")
    time.sleep(step_s)
say("allocated")
os.read(0, 1)
while chunks:
    chunks.pop()
    if free_step_s:
        time.sleep(free_step_s)
say("freed")
os.read(0, 1)
'''


class AllocChild:
    """The child above, with its pipes; ``close()`` ends and reaps it by pid."""

    def __init__(self, total_mib=512, step_mib=32, step_s=0.06, free_step_s=0.04):
        self.proc = subprocess.Popen(
            [sys.executable, '-c', CHILD, str(total_mib), str(step_mib), str(step_s),
             str(free_step_s)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL)
        self._buf = b''

    def wait_for(self, what: str, timeout_s: float = 30.0) -> float:
        """Return the child's monotonic time of event ``what``."""
        deadline = time.monotonic() + timeout_s
        fd = self.proc.stdout.fileno()
        while True:
            while b'\n' in self._buf:
                line, self._buf = self._buf.split(b'\n', 1)
                name, stamp = line.decode().split()
                if name == what:
                    return float(stamp)
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError(f'child did not report {what!r}')
            data = os.read(fd, 4096)
            if not data:
                raise EOFError(f'child exited before {what!r}')
            self._buf += data

    def free(self) -> None:
        self.proc.stdin.write(b'x')
        self.proc.stdin.flush()

    def close(self) -> None:
        close_child(self.proc)


def close_child(proc) -> None:
    """End (SIGKILL, by pid: our own child) and reap ``proc``; close its pipes."""
    if proc.poll() is None:
        proc.kill()
    proc.wait(10)
    proc.stdin.close()
    proc.stdout.close()
