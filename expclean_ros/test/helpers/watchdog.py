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
A watchdog process for the test run: ends a test that hangs, even inside a C call.

pytest-timeout raises in the main thread from a signal handler, which Python only runs
between bytecodes: a test stuck in a C call that holds the GIL (Fast DDS's deadlock,
eProsima/Fast-DDS#6502) is never stopped by it. This process is not the test process, so it
needs no GIL of that one. ``conftest.py`` starts one per test process and, around every
test, writes to its stdin::

    arm <seconds> <test id>
    disarm

When an armed limit passes, it prints the native stacks of every thread of the test
process (py-spy or gdb, where either is at hand), sends it SIGABRT (pytest's faulthandler
then prints every thread's Python stack) and, if it is still there, SIGKILL; then it kills
what the test process had started (its descendants, by pid and start time). Under
pytest-xdist the hung test is reported as failed ("worker crashed") and a fresh worker runs
the rest. The watchdog exits when its stdin closes, i.e. when the test process is gone.

It uses the standard library only and runs as ``python -I -S watchdog.py PID``.
"""

import os
import select
import shutil
import signal
import subprocess
import sys
import time

NATIVE_DUMP_S = 60.0   # how long a native stack dump may take
ABORT_GRACE_S = 10.0   # from SIGABRT to SIGKILL


def say(text):
    sys.stderr.write(f'expclean watchdog: {text}\n')
    sys.stderr.flush()


def _stat(pid):
    """(ppid, start ticks) of ``pid``, or None when it is gone."""
    try:
        with open(f'/proc/{pid}/stat', 'rb') as f:
            fields = f.read().rsplit(b')', 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), int(fields[19])


def descendants(root):
    """{pid: start ticks} of every process below ``root`` (not this watchdog)."""
    children = {}
    for name in os.listdir('/proc'):
        if name.isdigit():
            st = _stat(int(name))
            if st:
                children.setdefault(st[0], []).append((int(name), st[1]))
    found, todo = {}, [root]
    while todo:
        for pid, ticks in children.get(todo.pop(), ()):
            if pid != os.getpid() and pid not in found:
                found[pid] = ticks
                todo.append(pid)
    return found


def native_stacks(pid):
    """Print the native stacks of every thread of ``pid`` with py-spy or gdb."""
    here = os.path.dirname(sys.executable)
    spy = os.path.join(here, 'py-spy')
    commands = []
    if os.access(spy, os.X_OK) or shutil.which('py-spy'):
        commands.append([spy if os.access(spy, os.X_OK) else 'py-spy',
                         'dump', '--native', '--pid', str(pid)])
    if shutil.which('gdb'):
        commands.append(['gdb', '-p', str(pid), '-batch', '-nx',
                         '-ex', 'thread apply all bt'])
    if not commands:
        say('no py-spy or gdb here: native stacks not shown')
    for command in commands:
        say(f'native stacks ({command[0]}):')
        try:
            proc = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=NATIVE_DUMP_S)
        except (OSError, subprocess.TimeoutExpired) as exc:
            say(f'{command[0]} failed: {exc}')
            continue
        sys.stderr.write(proc.stdout.decode(errors='replace'))
        if proc.returncode == 0:
            return


def _signal(pid, ticks, signum):
    """Send ``signum`` to ``pid`` only if it is still the process that started at ``ticks``."""
    st = _stat(pid)
    if st and st[1] == ticks:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass


def expire(pid, test_id, seconds):
    """Return the test ``test_id`` ran past ``seconds``: dump stacks, end the test process."""
    say(f'{test_id} still running after {seconds:g} s: ending test process {pid}')
    started = _stat(pid)
    if started is None:
        return
    tree = descendants(pid)
    native_stacks(pid)
    say('Python stacks follow (faulthandler, on SIGABRT)')
    _signal(pid, started[1], signal.SIGABRT)
    deadline = time.monotonic() + ABORT_GRACE_S
    while _stat(pid) is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    _signal(pid, started[1], signal.SIGKILL)
    for child, ticks in tree.items():
        _signal(child, ticks, signal.SIGKILL)
    if tree:
        say(f'killed {len(tree)} processes the test had started: {sorted(tree)}')


def main():
    pid = int(sys.argv[1])
    armed = None  # (deadline, seconds, test id)
    buffer = b''
    while True:
        wait = None if armed is None else max(0.0, armed[0] - time.monotonic())
        ready, _, _ = select.select([0], [], [], wait)
        if not ready:
            expire(pid, armed[2], armed[1])
            return
        chunk = os.read(0, 4096)
        if not chunk:
            return
        buffer += chunk
        while b'\n' in buffer:
            line, buffer = buffer.split(b'\n', 1)
            words = line.decode(errors='replace').split(' ', 2)
            if words[0] == 'arm' and len(words) == 3:
                seconds = float(words[1])
                armed = (time.monotonic() + seconds, seconds, words[2])
            elif words[0] == 'disarm':
                armed = None


if __name__ == '__main__':
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the test run, not for us
    main()
