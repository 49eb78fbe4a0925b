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

"""Shared test set-up: an isolated ROS domain on loopback, and a real cleanup node."""

import atexit
import os
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

import pytest

# Every test runs under a limit that holds even inside a C call (helpers/watchdog.py).
from helpers.watchdog_plugin import pytest_runtest_protocol, pytest_unconfigure  # noqa: F401
# .ci/run: a leg can run exactly what an earlier leg skipped (helpers/rerun_plugin.py).
from helpers.rerun_plugin import (pytest_collection_modifyitems,  # noqa: F401
                                  pytest_collectreport, pytest_runtest_logreport)
from helpers.experiment import MARK, tagged_with_mark

# Every process of the test run stays on this machine and on a domain of its own.
os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
# A process of the test run that crashes (SIGSEGV in a native library) prints its Python stack.
os.environ['PYTHONFAULTHANDLER'] = '1'
os.environ.setdefault('ROS_DOMAIN_ID', str(50 + os.getpid() % 40))
# pytest-xdist workers (make test runs two) run side by side: worker N>0 takes the domain
# 40*N below the run's (within 0-101, the range safe on Linux), so the nodes of one never
# answer the other's calls and a pattern teardown, which reaches only processes of its own
# domain, never reaches the other's.
_WORKER = os.environ.get('PYTEST_XDIST_WORKER', 'gw0')
WORKER_INDEX = int(_WORKER[2:]) if _WORKER[2:].isdigit() else 0
if WORKER_INDEX and 'EXPCLEAN_WORKER_DOMAIN_SET' not in os.environ:
    base = int(os.environ['ROS_DOMAIN_ID'])
    os.environ['ROS_DOMAIN_ID'] = str((base - 40 * WORKER_INDEX) % 102)
    os.environ['EXPCLEAN_WORKER_DOMAIN_SET'] = '1'
os.environ.setdefault('AMENT_PREFIX_PATH', sys.prefix)
# Records of launched runs (core/runs/launch_record.py) stay this test run's own: a launch
# started here never stops the runs of another session's launches, nor they ours.
# Each xdist worker has a directory of its own: `teardown --last` in one never meets the
# other's runs.
if os.environ.get('EXPCLEAN_STATE_DIR_OWNER') != _WORKER:
    os.environ['EXPCLEAN_STATE_DIR'] = tempfile.mkdtemp(prefix=f'expclean-state-{_WORKER}-')
    os.environ['EXPCLEAN_STATE_DIR_OWNER'] = _WORKER
    atexit.register(shutil.rmtree, os.environ['EXPCLEAN_STATE_DIR'], True)
# /dev/shm is shared with every other program of this machine: the shared-memory steps of
# plans, nodes and runs started by the tests look at a directory of this test run instead,
# unless a test points them at /dev/shm itself (where only its own run's files can qualify).
SHM_ROOT = os.path.join('/tmp', f'expclean-test-shm-{os.getpid()}')
os.makedirs(SHM_ROOT, exist_ok=True)
os.environ['EXPCLEAN_SHM_ROOT'] = SHM_ROOT

NOBODY = ['setpriv', '--reuid', 'nobody', '--regid', 'nogroup', '--clear-groups']

# The console entry `make run` starts; `python -m` where the venv has none (a bare pip install).
_ENTRY = os.path.join(os.path.dirname(sys.executable), 'cleanup_node')
if os.access(_ENTRY, os.X_OK):
    NODE_COMMAND = [_ENTRY]
else:
    NODE_COMMAND = [sys.executable, '-m', 'expclean_ros.ros.node']

# Node arguments for tests with hooks: a node running as root refuses hooks unless told.
HOOKS_AS_ROOT = ('-p', 'hooks.allow_as_root:=true')

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_ROOT = os.path.dirname(PACKAGE_ROOT)


@pytest.fixture(scope='session', autouse=True)
def _private_shm_root():
    """Remove this test run's shared-memory directory at the end (ours alone)."""
    yield SHM_ROOT
    shutil.rmtree(SHM_ROOT, ignore_errors=True)


@pytest.fixture
def made():
    """
    ``(paths, procs)`` a shared-memory test fills (see helpers/shmscene.py).

    Its files are removed and its children stopped afterwards, nothing else.
    """
    from helpers.shmscene import remove
    paths, procs = [], []
    yield paths, procs
    for proc in procs:
        proc.stop()
    remove(paths)


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


@pytest.fixture
def start_node(tmp_path):
    """Start real cleanup nodes (a factory), e.g. with ``'--ros-args', '-r', '__ns:=/a'``."""
    nodes = []

    def start(*args, env=None):
        node = NodeProcess(tmp_path / f'node{len(nodes)}.log', args, env)
        nodes.append(node)
        return node

    yield start
    for node in nodes:
        node.close()


@pytest.fixture
def client():
    """Return a CleanupClient with a private rclpy context."""
    from expclean_ros.ros.client import CleanupClient
    with CleanupClient(name='expclean_test') as c:
        yield c


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


def _blocked(paths):
    """
    [(blocked, keep)].

    For each path, its first ancestor that others may not enter, and the child of it on the way to
    that path.
    """
    pairs = []
    for path in paths:
        parts = os.path.realpath(path).split('/')[1:]
        for depth in range(1, len(parts)):
            here = '/' + '/'.join(parts[:depth])
            if not os.stat(here).st_mode & stat.S_IXOTH:
                pair = (here, here + '/' + parts[depth])
                if pair not in pairs and not any(pair[1].startswith(k + '/') for _, k in pairs):
                    pairs.append(pair)
                break
    return pairs


def _unhide_script(pairs, stage_root):
    """
    Shell that, in a private mount namespace.

    Lays a 0755 tmpfs over each blocked directory holding only the subtree to keep, then runs its
    arguments.
    """
    quote = shlex.quote
    steps = []
    for i, (_, keep) in enumerate(pairs):
        steps += [f'mkdir -p {quote(f"{stage_root}/{i}")}',
                  f'mount --bind {quote(keep)} {quote(f"{stage_root}/{i}")}']
    for blocked in dict.fromkeys(b for b, _ in pairs):
        steps.append(f'mount -t tmpfs -o mode=0755,size=1m tmpfs {quote(blocked)}')
    for i, (_, keep) in enumerate(pairs):
        steps += [f'mkdir -p {quote(keep)}',
                  f'mount --move {quote(f"{stage_root}/{i}")} {quote(keep)}']
    return ' && '.join(steps) + ' && exec "$@"'


@pytest.fixture(scope='session')
def as_nobody(tmp_path_factory):
    """
    Return a command prefix that runs this very interpreter as user nobody.

    The interpreter is the venv's, with this checkout's expclean_ros.

    The interpreter, the venv or the checkout may sit below a directory that nobody may
    not enter (/root is mode 700; a clone in a ``mktemp -d`` folder is too). Rather than
    change modes or copy them, the prefix enters a private mount namespace (nothing
    changes outside it), lays a 0755 tmpfs over each such directory holding only the
    subtree needed, and only then drops to nobody.
    """
    if os.geteuid() != 0:
        pytest.skip('switching to user nobody needs root')
    if shutil.which('setpriv') is None:
        pytest.skip('setpriv not available')
    import expclean_ros
    import expclean_interfaces
    needed = [sys.executable, sys.prefix, os.path.dirname(expclean_ros.__path__[0]),
              os.path.dirname(list(expclean_interfaces.__path__)[0])]
    prefix = NOBODY
    pairs = _blocked(needed)
    if pairs:
        stage = tmp_path_factory.mktemp('stage')
        prefix = ['unshare', '--mount', '--propagation', 'private', 'sh', '-c',
                  _unhide_script(pairs, stage), 'sh', *NOBODY]
    probe = subprocess.run([*prefix, sys.executable, '-c', 'import os, expclean_ros; '
                            'print(os.geteuid())'], capture_output=True, text=True,
                           timeout=60, stdin=subprocess.DEVNULL, cwd='/tmp')
    if probe.returncode != 0 or probe.stdout.strip() != '65534':
        pytest.skip(f'cannot run {sys.executable} as nobody here: {probe.stderr[-300:]}')
    return prefix


# -- Waiting on events, and nodes shared by a module (appended: keep the top for set-up) --

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


@pytest.fixture
def mark(tmp_path, monkeypatch):
    """
    Return a value only this test's experiments carry (helpers/experiment.py).

    Everything still carrying it is reaped.
    """
    value = f'{os.getpid()}-{tmp_path.name}'
    monkeypatch.setenv(MARK, value)
    yield value
    for pid in tagged_with_mark(value):  # only our own tagged experiments, by pid
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
