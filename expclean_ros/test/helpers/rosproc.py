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
Real ``ros2`` commands for tests and benches: launch in a pseudo-terminal, Ctrl-C, leftovers.

``ros2`` and ``launch`` come from a ROS 2 install or, in this repository's CI, from the
upstream sources that ``make setup`` installs when they sit beside the checkout.
"""

import fcntl
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import termios
import threading
import time
import uuid

from expclean_ros.core.procs.teardown import teardown
from expclean_ros.core.runs import run_tag

HERE = os.path.dirname(os.path.abspath(__file__))
PIPELINE_LAUNCH = os.path.join(os.path.dirname(HERE), 'e2e', 'pipeline.launch.py')
ROS2 = os.path.join(os.path.dirname(sys.executable), 'ros2')
MARK = 'EXPCLEAN_TEST_MARK'  # every process a test starts carries its own value of it


def installed(module):
    """
    Return whether ``module`` is really installed.

    A folder that only happens to share its name (this package's own ``launch/`` files, on the path
    of an editable install) does not count.
    """
    spec = importlib.util.find_spec(module)
    return spec is not None and spec.origin not in (None, 'namespace')


def not_installed(module):
    """Return the skip reason for a missing ROS 2 command-line or launch package."""
    return (f'{module} not installed (it is on no package index: a ROS 2 install has it; '
            "this repository's CI installs it from the upstream sources)")


def launch_missing_reason():
    """Why ``launch`` and ``launch_ros`` cannot be imported here, or '' when they can."""
    for mod in ('launch', 'launch_ros'):
        if not installed(mod):
            return not_installed(mod)
    return ''


def missing_reason():
    """Why real ``ros2 launch`` cannot run here, or '' when it can."""
    for mod in ('launch', 'launch_ros', 'ros2launch', 'ros2cli'):
        if not installed(mod):
            return not_installed(mod)
    if not os.access(ROS2, os.X_OK) and shutil.which('ros2') is None:
        return 'no ros2 command'
    return ''


def ros2():
    return ROS2 if os.access(ROS2, os.X_OK) else shutil.which('ros2')


def _controlling_tty():
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class PtyProcess:
    """A command in a new session whose controlling terminal is a pty we hold (Ctrl-C real)."""

    def __init__(self, args, env, log_path=None):
        master, slave = os.openpty()
        self.master = master
        self.text = ''
        self._lock = threading.Lock()
        self._log = open(log_path, 'w') if log_path else None
        self.popen = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env,
                                      start_new_session=True, preexec_fn=_controlling_tty)
        os.close(slave)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            chunk = data.decode(errors='replace')
            with self._lock:
                self.text += chunk
            if self._log:
                self._log.write(chunk)
                self._log.flush()

    def wait_for(self, pattern, timeout_s):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if re.search(pattern, self.text):
                    return True
            if self.popen.poll() is not None:
                # it exited: what it wrote is read once the reader has seen the end of
                # the terminal's output (every writer gone)
                self._reader.join(30)
                with self._lock:
                    return bool(re.search(pattern, self.text))
            time.sleep(0.05)
        return False

    def ctrl_c(self):
        os.write(self.master, b'\x03')  # the terminal sends SIGINT to its foreground group

    def wait(self, timeout_s):
        try:
            return self.popen.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def close(self):
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)  # our own session
            self.popen.wait(10)
        self._reader.join(2)
        os.close(self.master)
        if self._log:
            self._log.close()


def marked_env(mark, **extra):
    env = dict(os.environ, **{MARK: mark})
    env.pop('EXPCLEAN_RUN_ID', None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def marked(mark):
    """Return the live processes carrying our mark (the launch's tree, whatever became of it)."""
    return run_tag.tagged_tree(mark, MARK)


def stop_marked(mark):
    """Stop what is left of a test's processes, by its own mark only."""
    if marked(mark):
        teardown(run_tag.tag_selection(mark, MARK), 1.0, 1.0, 1.0)


def new_mark():
    return 'test-' + uuid.uuid4().hex


def stop_daemon(env):
    subprocess.run([ros2(), 'daemon', 'stop'], env=env, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)


def shm_bytes():
    """Bytes /dev/shm holds now (all users: other programs add noise)."""
    total = 0
    try:
        entries = list(os.scandir('/dev/shm'))
    except OSError:
        return 0
    for entry in entries:
        try:
            total += entry.stat(follow_symlinks=False).st_blocks * 512
        except OSError:
            continue
    return total


def ram_used_bytes():
    info = {}
    with open('/proc/meminfo') as f:
        for line in f:
            key, value = line.split(':', 1)
            info[key] = int(value.split()[0]) * 1024
    return info['MemTotal'] - info['MemAvailable']


def _sid(pid):
    """Return the session of ``pid``, or None once it is gone."""
    try:
        with open(f'/proc/{pid}/stat', 'rb') as f:
            return int(f.read().rsplit(b')', 1)[1].split()[4])
    except (OSError, IndexError, ValueError):
        return None


def _wait(predicate, timeout_s):
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def e2e_run(mode, mark, log_path):
    """
    One run of the e2e pipeline under ``ros2 launch`` ended by Ctrl-C in its terminal.

    ``mode``: ``plain`` (the pipeline's own launch file) or ``wrap`` (through
    ``wrap.launch.py``). Returns the processes left (still carrying ``mark``),
    /dev/shm growth, RAM drift and the seconds from Ctrl-C until launch had
    exited (the next run could start).
    """
    shm0, ram0 = shm_bytes(), ram_used_bytes()
    args = ([ros2(), 'launch', PIPELINE_LAUNCH] if mode == 'plain' else
            [ros2(), 'launch', 'expclean_ros', 'wrap.launch.py', f'file:={PIPELINE_LAUNCH}',
             'cleanup:=quick'])
    run = PtyProcess(args, marked_env(mark), log_path)
    try:
        for pattern in ('e2e_talker up', 'e2e_listener up') + (
                (r'\[cleanup\]: ready',) if mode == 'wrap' else ()):
            if not run.wait_for(pattern, 90):
                raise RuntimeError(f'{mode} run: no {pattern!r}: {run.text[-2000:]}')
        before = time.monotonic()
        run.ctrl_c()
        code = run.wait(120)
        seconds = time.monotonic() - before
    finally:
        run.close()
    # what launch's own session held is gone before leftovers are counted (close() killed
    # it if launch had not exited); what is left lives elsewhere
    session = run.popen.pid
    if not _wait(lambda: not [c for c in marked(mark) if _sid(c.pid) == session], 30):
        raise RuntimeError(f'{mode} run: its session outlived SIGKILL')
    left = [c for c in marked(mark)]
    return {'mode': mode, 'exit': code, 'left': len(left),
            'left_names': sorted(c.cmdline.rsplit('/', 1)[-1] for c in left),
            'shm_growth': shm_bytes() - shm0, 'ram_drift': ram_used_bytes() - ram0,
            'seconds': seconds, 'text': run.text}
