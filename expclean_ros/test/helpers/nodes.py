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

"""Cleanup nodes as processes of the test run, their environment, and waiting on events."""

import os
import signal
import subprocess
import sys
import time

NOBODY = ['setpriv', '--reuid', 'nobody', '--regid', 'nogroup', '--clear-groups']

# The console entry `make run` starts; `python -m` where the venv has none (a bare pip install).
_ENTRY = os.path.join(os.path.dirname(sys.executable), 'cleanup_node')
if os.access(_ENTRY, os.X_OK):
    NODE_COMMAND = [_ENTRY]
else:
    NODE_COMMAND = [sys.executable, '-m', 'expclean_ros.ros.node']

# Node arguments for tests with hooks: a node running as root refuses hooks unless told.
HOOKS_AS_ROOT = ('-p', 'hooks.allow_as_root:=true')


def ros_env(**extra):
    """Return the environment for a ROS 2 subprocess of this test run."""
    env = dict(os.environ)
    env.update({k: str(v) for k, v in extra.items()})
    return env


class NodeProcess:
    """A cleanup node running as its own process; stopped and reaped on close."""

    def __init__(self, log_path, args=(), env=None):
        self.log_path = log_path
        self._log = open(log_path, 'wb')
        self.popen = subprocess.Popen(
            [*NODE_COMMAND, *args],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            env=env or ros_env(), start_new_session=True)

    @property
    def pid(self):
        return self.popen.pid

    def log(self):
        with open(self.log_path, 'rb') as f:
            return f.read().decode(errors='replace')

    def interrupt(self, timeout_s=15.0):
        """Send SIGINT and return the exit code (None if it did not exit in time)."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
        try:
            return self.popen.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def close(self):
        if self.popen.poll() is None:
            self.interrupt(10.0)
        if self.popen.poll() is None:
            self.popen.kill()  # by PID: our own child
            self.popen.wait(10)
        self._log.close()


def start_ticks(pid):
    """
    Return a process's start time as a ~/teardown request carries it.

    Field 22 of /proc/PID/stat.
    """
    from expclean_ros.core.procs import proctable
    return proctable.read_proc(pid).start_ticks


def reap_tagged(proc, tag):
    """Kill our child ``proc`` if alive, then every process carrying our fresh ``tag``."""
    from expclean_ros.core.runs import run_tag
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)
    for c in run_tag.tagged_tree(tag):
        os.kill(c.pid, 9)


def wait_for(predicate, timeout_s=10.0, interval_s=0.05):
    """Poll ``predicate`` until true or timeout; return its last value."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval_s)


def wait_for_path(path, timeout_s=60.0):
    """
    Return whether ``path`` exists within ``timeout_s``.

    A limit that only turns a hang into a failure: what the test waits for is the file, written by
    a hook or a child.
    """
    return wait_for(lambda: os.path.exists(path), timeout_s, 0.02)


def held_hook(started, release):
    """
    Return a hook command that touches ``started``, then waits until ``release`` exists.

    It waits 10 minutes at most: the node is inside a cleanup for exactly as long as the test
    wants.
    """
    return (f'touch {started}; n=0; while [ ! -e {release} ] && [ $n -lt 12000 ]; '
            f'do sleep 0.05; n=$((n+1)); done')


def hook_args(*commands, timeout_s=900.0):
    """Node arguments for hooks run before each cleanup (``HOOKS_AS_ROOT`` included)."""
    quoted = ', '.join(f'"{c}"' for c in commands)
    return ('-p', f'hooks.before:=[{quoted}]', '-p', f'hooks.timeout_s:={float(timeout_s)}',
            *HOOKS_AS_ROOT)


def wait_execed(pid, marker, timeout_s=60.0):
    """
    Wait until process ``pid`` runs its new program.

    Its command line shows ``marker`` and its environment is readable and not empty (right after
    Popen, execve may still be under way and /proc shows the parent's command line or an empty
    environment).
    """
    from expclean_ros.core.procs import proctable

    def execed():
        try:
            with open(f'/proc/{pid}/environ', 'rb') as f:
                environ = f.read()
        except OSError:
            return False
        return marker in proctable.read_cmdline(pid) and bool(environ)
    return wait_for(execed, timeout_s, 0.02)


def serve_node(tmp_path_factory, namespace, *params):
    """
    Serve one cleanup node to the tests of a module (a generator for a module-scoped fixture).

    One cleanup node, started once, for the tests of a module that only read from it or ask what it
    refuses (none changes what another test could see), so that each does not pay a node's start,
    discovery and stop.

    It lives in ``namespace`` (its services under ``node.name``, e.g. ``/shared/cleanup``)
    so that the module's other tests can start their own ``/cleanup`` beside it.
    ``params``: ``-p`` arguments, e.g. ``('-p', 'publish_rate:=10.0')``.
    """
    node = NodeProcess(tmp_path_factory.mktemp('shared_node') / 'node.log',
                       ('--ros-args', '-r', f'__ns:={namespace}', *params))
    node.name = f'{namespace}/cleanup'
    try:
        yield node
    finally:
        node.close()


def alive(node):
    """``node``, after checking that an earlier test of the module did not end it."""
    assert node.popen.poll() is None, f'the shared node exited: {node.log()[-3000:]}'
    return node
