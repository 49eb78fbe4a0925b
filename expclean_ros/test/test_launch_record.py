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
Records of launched runs.

What a killed launch left is stopped by the next ``expclean run`` (and ``stop_stale``), never a run
whose launch still lives, never a decoy. No ROS needed.
"""

import json
import os
import signal
import subprocess
import sys

import pytest

from helpers.nodes import wait_for
from expclean_ros.core.runs import launch_record
from expclean_ros.core.runs.tagged_start import new_run_id
from helpers.cli import expclean

# A stand-in for a launch: records its run, starts a tagged orphan in a session of its own,
# prints the orphan's pid, then waits for a line on stdin (or its end) and exits.
LAUNCH = '''
import os, subprocess, sys
from expclean_ros.core.runs import launch_record
run_id = sys.argv[1]
launch_record.record(run_id, 'EXPCLEAN_RUN_ID', None)
env = dict(os.environ, EXPCLEAN_RUN_ID=run_id)
orphan = subprocess.Popen(['sleep', '300'], env=env, start_new_session=True,
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
print(orphan.pid, flush=True)
sys.stdin.readline()
'''


def _alive(pid):
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


@pytest.fixture
def launches(tmp_path, monkeypatch):
    monkeypatch.setenv('EXPCLEAN_STATE_DIR', str(tmp_path / 'state'))
    started, orphans = [], []

    def start(run_id):
        p = subprocess.Popen([sys.executable, '-c', LAUNCH, run_id], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
        started.append(p)
        orphans.append(int(p.stdout.readline()))
        return p, orphans[-1]
    yield start
    for p in started:
        if p.poll() is None:
            p.kill()
        p.wait(10)
    for pid in orphans:  # our own, found by the pid their launch printed
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def _decoy(run_id):
    return subprocess.Popen(['sleep', '300'], env=dict(os.environ, EXPCLEAN_RUN_ID=run_id),
                            start_new_session=True, stdin=subprocess.DEVNULL)


def test_stop_stale_stops_runs_of_gone_launches_only(launches):
    gone_launch, gone_orphan = launches(new_run_id())
    live_launch, live_orphan = launches(new_run_id())
    decoy = _decoy(new_run_id())  # same command line, another run: never selected
    try:
        gone_launch.stdin.close()
        gone_launch.wait(10)
        assert len(launch_record.records()) == 2
        done = launch_record.stop_stale((1.0, 1.0, 1.0))
        assert [rec.launch_pid for rec, _ in done] == [gone_launch.pid]
        assert done[0][1].stopped == 1 and not done[0][1].left
        assert wait_for(lambda: not _alive(gone_orphan), 10)
        assert _alive(live_orphan) and decoy.poll() is None
        assert [r.launch_pid for r in launch_record.records()] == [live_launch.pid]
    finally:
        decoy.kill()
        decoy.wait(10)


def test_expclean_run_first_stops_what_a_killed_launch_left(launches, tmp_path):
    gone_launch, orphan = launches(new_run_id())
    gone_launch.kill()  # SIGKILL: nothing of the launch could clean up
    gone_launch.wait(10)
    table = tmp_path / 'runs.csv'
    table.write_text('x\n1\n')
    out = expclean('run', str(table), '--ledger', str(tmp_path / 'l.jsonl'), '--quick',
                   '--wait', '0', '--', 'true', env=dict(os.environ))
    assert out.returncode == 0, out.stdout + out.stderr
    assert 'which is gone: stopped 1 process (0 left)' in out.stderr, out.stderr
    assert not _alive(orphan)
    assert launch_record.records() == []


def test_a_record_that_is_not_ours_is_ignored(tmp_path, monkeypatch):
    """A file that is not a record of this format, or names what is no run tag, selects nothing."""
    monkeypatch.setenv('EXPCLEAN_STATE_DIR', str(tmp_path))
    (tmp_path / 'launch-x.json').write_text(json.dumps({
        'run_id': '/root', 'tag_variable': 'HOME', 'cgroup': '/sys/fs/cgroup',
        'launch_pid': 1, 'launch_start_ticks': 0, 'started_at': 0}))
    (tmp_path / 'launch-bad.json').write_text('{')
    assert launch_record.records() == []
    assert launch_record.stop_stale() == []


# A stand-in for launch and its cleanup node: the parent starts a tagged sleeper and a
# watcher child (LaunchWatch on the parent's pid), prints both pids, then waits.
WATCHED = '''
import os, subprocess, sys
run_id = sys.argv[1]
env = dict(os.environ, EXPCLEAN_RUN_ID=run_id)
sleeper = subprocess.Popen(['sleep', '300'], env=env, start_new_session=True)
watcher = subprocess.Popen([sys.executable, '-c', sys.argv[2], str(os.getpid()), run_id],
                           stdout=subprocess.PIPE, text=True)
watcher.stdout.readline()  # watching
print(sleeper.pid, watcher.pid, flush=True)
sys.stdin.readline()
'''
WATCHER = '''
import sys, threading
from expclean_ros.core.runs.launch_watch import LaunchWatch
done = threading.Event()
LaunchWatch(int(sys.argv[1]), sys.argv[2], 'EXPCLEAN_RUN_ID', '', (1.0, 1.0, 1.0),
            lambda result: done.set())
print('watching', flush=True)
done.wait()  # (its stdout, a pipe to the killed launch, is gone by then)
'''


def test_launch_watch_stops_the_run_when_its_launch_is_killed(tmp_path):
    """
    The watch blocks on a pidfd of the launch.

    SIGKILL to the launch, and the run's tagged process is stopped (a decoy of another run is not),
    then on_done is called.
    """
    run_id = new_run_id()
    decoy = _decoy(new_run_id())
    launch = subprocess.Popen([sys.executable, '-c', WATCHED, run_id, WATCHER],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    sleeper, watcher = (int(x) for x in launch.stdout.readline().split())
    try:
        assert _alive(sleeper) and _alive(watcher)
        launch.kill()
        launch.wait(10)
        assert wait_for(lambda: not _alive(sleeper), 30)
        assert wait_for(lambda: not _alive(watcher), 30)  # on_done ended it
        assert decoy.poll() is None
    finally:
        for pid in (sleeper, watcher):  # ours: started by the stand-in above
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        decoy.kill()
        decoy.wait(10)
