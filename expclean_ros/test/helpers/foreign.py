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
Another user's processes beside a run: one that grows on request, one that burns a core.

The other user is ``nobody`` where the tests run as root, else this user; the processes
carry no run tag and name themselves ``foreign-grower`` / ``foreign-burner``.
"""

import os
import shutil
import subprocess
import sys

from expclean_ros.core.memory.attribution import user_name

from helpers.nodes import NOBODY

MIB = 2**20
AS_ROOT = os.geteuid() == 0
OTHER = 'nobody' if AS_ROOT else user_name(os.getuid())
# nobody cannot enter the venv under /root: the system's interpreter runs its code (stdlib only)
OTHER_PYTHON = (shutil.which('python3', path='/usr/bin:/bin') or sys.executable) if AS_ROOT \
    else sys.executable
_NAME = 'open("/proc/self/comm", "w").write({!r})\n'
# Waits for a line on stdin, then holds ``argv[1]`` MiB of touched memory and says so.
GROWER = (_NAME.format('foreign-grower') + 'import sys\nsys.stdin.readline()\n'
          'held = bytearray(int(sys.argv[1]) * 2**20)\n'
          'held[::4096] = b"x" * len(held[::4096])\n'
          'print("grown", flush=True)\nsys.stdin.readline()\n')
BURN = _NAME.format('foreign-burner') + 'print("burning", flush=True)\nwhile True:\n    pass\n'


def other_user(code: str, *args: str, env=None) -> subprocess.Popen:
    """Start ``code`` as the other user (untagged), with pipes to talk to it."""
    prefix = NOBODY if AS_ROOT else []
    return subprocess.Popen(prefix + [OTHER_PYTHON, '-c', code, *args], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def grow(proc: subprocess.Popen) -> None:
    """Have a grower take its memory; return once it has."""
    proc.stdin.write('go\n')
    proc.stdin.flush()
    assert proc.stdout.readline().strip() == 'grown'


def stop(procs) -> None:
    """Stop the processes this test started, by their pids."""
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
