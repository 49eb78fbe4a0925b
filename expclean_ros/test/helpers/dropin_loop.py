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
An experiment loop written as the README shows, for the drop-in's tagging tests.

``python dropin_loop.py loop OUT RUNS plain|launch [LEDGER]``: a loop of RUNS runs; it
starts one sleeper before importing ``expclean_ros.cleanup_utils`` and one with
``untagged_env()`` after; each run starts an experiment (``python dropin_loop.py
experiment PIDFILE`` directly, or under ``ros2 launch dropin.launch.py``) whose helper
double-forks (setsid, fork, the middle exits) and outlives it, then calls
``cleanup_between_runs``. Run 1 also leaves a 48 MiB ``/dev/shm`` file that a decoy started
with ``untagged_env()`` holds. OUT gets JSON: per run the tag, the helper's pid and tag,
whether it lived on, the report's verdict and the printed lines; the sleepers' fate;
the signals the loop received. The loop stops what it started itself, by pid.
"""

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LAUNCH = os.path.join(HERE, 'dropin.launch.py')
SHM_MIB = 48
SLEEP = [sys.executable, '-c', 'import time; time.sleep(600)']


def experiment(pidfile: str) -> None:
    """Double-fork a helper that writes its pid to ``pidfile`` and sleeps; exit once it has."""
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            with open(pidfile + '.tmp', 'w') as f:
                f.write(str(os.getpid()))
            os.rename(pidfile + '.tmp', pidfile)
            os.execvp('sleep', ['sleep', '3600'])
        os._exit(0)
    os.wait()
    deadline = time.monotonic() + 30
    while not os.path.exists(pidfile) and time.monotonic() < deadline:
        time.sleep(0.01)


def _alive(pid: int) -> bool:
    try:
        with open(f'/proc/{pid}/stat', 'rb') as f:
            state = f.read().rsplit(b')', 1)[1].split()[0]
    except OSError:
        return False
    return state not in (b'Z', b'X')


def _stop(popen) -> None:
    if popen.poll() is None:
        popen.kill()  # our own child, by its pid
    popen.wait(10)


def _ros2():
    """Return the venv's ``ros2`` (make test does not put the venv on PATH), else PATH's."""
    beside = os.path.join(os.path.dirname(sys.executable), 'ros2')
    return beside if os.access(beside, os.X_OK) else 'ros2'


def _experiment_cmd(mode: str, pidfile: str) -> list:
    if mode == 'launch':
        return [_ros2(), 'launch', LAUNCH, f'pidfile:={pidfile}']
    return [sys.executable, os.path.abspath(__file__), 'experiment', pidfile]


def _decoy(cu, path: str):
    """Make ``path`` (SHM_MIB MiB, as a run's process would) and hold it from outside the run."""
    from helpers.shmscene import HOLD, write
    write(path, SHM_MIB * 2**20)
    decoy = subprocess.Popen([sys.executable, '-c', HOLD, path, 'open', '0'],
                             env=cu.untagged_env(), stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE)
    decoy.stdout.readline()
    return decoy


def loop(out: str, runs: int, mode: str, ledger=None) -> None:
    signalled = []
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, lambda number, frame: signalled.append(number))
    early = subprocess.Popen(SLEEP)  # before the import: it carries no tag
    from expclean_ros import cleanup_utils as cu
    from helpers.proctree import environ_var
    keeper = subprocess.Popen(SLEEP, env=cu.untagged_env())
    result = {'loop_pid': os.getpid(), 'early': early.pid, 'keeper': keeper.pid, 'runs': [],
              'early_tag': list(environ_var(early.pid, cu.TAG_VARIABLE)),
              'keeper_tag': list(environ_var(keeper.pid, cu.TAG_VARIABLE))}
    from expclean_ros.core.memory.shm_root import shm_root
    decoy = None
    shm = f'{shm_root()}/psm_dropin_{os.getpid()}_{time.monotonic_ns()}'
    try:
        for i in range(runs):
            tag = cu.current_tag()
            pidfile = os.path.join(os.path.dirname(out), f'helper-{i}.pid')
            subprocess.run(_experiment_cmd(mode, pidfile), check=True, timeout=120,
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            with open(pidfile) as f:
                helper = int(f.read())
            helper_tag = list(environ_var(helper, cu.TAG_VARIABLE))
            if i == 0:
                decoy = _decoy(cu, shm)  # written "by the run"; the decoy keeps it
            said = io.StringIO()
            with contextlib.redirect_stdout(said):
                report = cu.cleanup_between_runs(i, runs, comprehensive=False, wait_time=0,
                                                 ledger=ledger)
            result['runs'].append({
                'tag': tag, 'helper': helper, 'helper_alive': _alive(helper),
                'helper_tag': helper_tag,
                'verdict': report.verification.line, 'success': report.success,
                'printed': said.getvalue(), 'decoy': decoy.pid,
                'stopped': cu.last_run_end().teardown.stopped})
        result['early_alive'] = _alive(early.pid)
        result['keeper_alive'] = _alive(keeper.pid)
        result['tag_after'] = cu.current_tag()
    finally:
        for popen in (early, keeper) + ((decoy,) if decoy else ()):
            _stop(popen)
        if os.path.exists(shm):
            os.unlink(shm)
        result['signalled'] = signalled
        with open(out, 'w') as f:
            json.dump(result, f)


if __name__ == '__main__':
    sys.path.insert(0, os.path.dirname(HERE))
    if sys.argv[1] == 'experiment':
        experiment(sys.argv[2])
    else:
        loop(sys.argv[2], int(sys.argv[3]), sys.argv[4], *sys.argv[5:6])
