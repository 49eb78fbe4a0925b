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

import pytest

# Every test runs under a limit that holds even inside a C call (helpers/watchdog.py).
from helpers.watchdog_plugin import pytest_runtest_protocol, pytest_unconfigure  # noqa: F401
# .ci/run: a leg can run exactly what an earlier leg skipped (helpers/rerun_plugin.py).
from helpers.rerun_plugin import (pytest_collection_modifyitems,  # noqa: F401
                                  pytest_collectreport, pytest_runtest_logreport)
from helpers.experiment import MARK, tagged_with_mark
from helpers.nodes import NOBODY, NodeProcess

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
