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
Every way a wrapped ``ros2 launch`` ends leaves nothing: SIGINT, SIGTERM, SIGHUP, SIGKILL.

Real ``ros2 launch`` of ``wrap.launch.py`` around the e2e pipeline plus a
process that leaks two orphans: one tagged (``setsid``), one that cleared its
environment (``env -i``: only the run's cgroup can find it). Decoys with the
same names outside the run must survive.
"""

import os
import re
import signal
import subprocess

import pytest

from helpers import rosproc
from helpers.nodes import wait_for
from expclean_ros.core.doctor.check import WORKS
from expclean_ros.core.doctor.system_checks import check_cgroups
from expclean_ros.core.runs.tagged_start import new_run_id

pytestmark = [pytest.mark.launch,
              pytest.mark.skipif(bool(rosproc.missing_reason()), reason=rosproc.missing_reason())]

READY = r'\[cleanup\]: ready'
CGROUPS = check_cgroups().state == WORKS

LEAKY = '''from launch import LaunchDescription
from launch.actions import ExecuteProcess, IncludeLaunchDescription
from launch.launch_description_sources import AnyLaunchDescriptionSource


def generate_launch_description():
    return LaunchDescription([
        IncludeLaunchDescription(AnyLaunchDescriptionSource(%(pipeline)r)),
        ExecuteProcess(cmd=['bash', '-c', %(script)r], name='leaky', output='screen'),
    ])
'''
SCRIPT = ('env -i setsid bash -c "exec -a {name}_envi sleep 300" & '
          'setsid bash -c "exec -a {name}_tagged sleep 300" & echo leaky up; exec sleep 600')


def _named(prefix):
    """Pids of live processes whose command line starts with ``prefix``."""
    found = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/cmdline', 'rb') as f:
                cmdline = f.read()
            with open(f'/proc/{entry}/stat') as f:
                if f.read().rsplit(')', 1)[1].split()[0] == 'Z':
                    continue
        except OSError:
            continue
        if cmdline.startswith(prefix.encode()):
            found.append(int(entry))
    return found


class Scene:
    """The leaky launch file, its decoys, and what is left of them."""

    def __init__(self, tmp_path):
        self.mark = rosproc.new_mark()
        self.name = 'leak' + self.mark[-12:]
        self.state = tmp_path / 'state'
        self.launch_file = tmp_path / 'leaky.launch.py'
        self.launch_file.write_text(LEAKY % {'pipeline': rosproc.PIPELINE_LAUNCH,
                                             'script': SCRIPT.format(name=self.name)})
        env = dict(rosproc.marked_env('decoy-' + self.mark), EXPCLEAN_RUN_ID=new_run_id())
        self.decoys = [subprocess.Popen(
            ['bash', '-c', f'exec -a {self.name}_{kind} sleep 300'], env=env,
            start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL) for kind in ('envi', 'tagged')]
        self.run = None

    def env(self):
        return rosproc.marked_env(self.mark, EXPCLEAN_STATE_DIR=self.state)

    def start(self, tmp_path, shell_prefix=''):
        args = [rosproc.ros2(), 'launch', 'expclean_ros', 'wrap.launch.py',
                f'file:={self.launch_file}', 'cleanup:=quick']
        if shell_prefix:
            args = ['bash', '-c', f'{shell_prefix}; exec "$@"', 'launch', *args]
        self.run = rosproc.PtyProcess(args, self.env(), tmp_path / 'launch.log')
        for pattern in (READY, 'e2e_talker up', 'e2e_listener up', 'leaky up',
                        r'cleanup call /cleanup/quick ready'):
            assert self.run.wait_for(pattern, 90), self.run.text[-3000:]
        assert wait_for(lambda: len(self.orphans()) == 2, 30), self.orphans()

    def orphans(self):
        """Return the two orphans the run leaked (the decoys carry the same names: not counted)."""
        decoys = {p.pid for p in self.decoys}
        return [pid for kind in ('envi', 'tagged') for pid in _named(f'{self.name}_{kind}')
                if pid not in decoys]

    def left(self):
        """
        Return what is left of the run.

        Without a cgroup the ``env -i`` orphan escapes by construction (launch says so at start);
        it is then stopped by ``close``.
        """
        orphans = self.orphans() if CGROUPS else _named(f'{self.name}_tagged')
        decoys = {p.pid for p in self.decoys}
        return [c.cmdline for c in rosproc.marked(self.mark)] + [
            p for p in orphans if p not in decoys]

    def close(self):
        if self.run is not None:
            self.run.close()
        rosproc.stop_marked(self.mark)
        for pid in self.orphans():  # started by this test's launch, found by its own name
            os.kill(pid, signal.SIGKILL)
        dead = [p.pid for p in self.decoys if p.poll() is not None]
        for p in self.decoys:
            if p.poll() is None:
                p.kill()
            p.wait(10)
        return dead


@pytest.fixture
def scene(tmp_path):
    s = Scene(tmp_path)
    yield s
    assert s.close() == [], 'a decoy outside the run was stopped'


@pytest.mark.parametrize('signum', [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signal_to_launch_is_an_orderly_shutdown(scene, tmp_path, signum):
    """SIGINT, SIGTERM or SIGHUP to launch's pid alone: teardown, cleanup call, nothing left."""
    scene.start(tmp_path)
    os.kill(scene.run.popen.pid, signum)
    assert scene.run.wait(120) == 0, scene.run.text[-3000:]
    text = scene.run.text
    assert wait_for(lambda: not scene.left(), 30), scene.left()
    assert text.count('tagged processes before teardown') == 1, text[-3000:]
    assert '/cleanup quick: ok' in text, text[-3000:]
    assert re.search(r'\[cleanup_node-\d+\]: process has finished cleanly', text), text[-3000:]
    stopped = re.search(r'stopped \d+ process(?:es)? \(0 left\) in [\d.]+ s via (\S+)', text)
    assert stopped, text[-3000:]
    if signum != signal.SIGINT:
        assert f'{signal.Signals(signum).name} received: shutting down' in text, text[-3000:]
        assert 'terminating' not in text and 'run task was canceled' not in text, text[-3000:]
    if CGROUPS:
        assert stopped.group(1) == 'cgroup+tag', text[-3000:]
    else:
        assert text.count('no cgroup for this run') == 1, text[-3000:]
    assert not list(scene.state.glob('launch-*.json')), 'the run record outlived its teardown'


def test_sigkill_to_launch_the_node_stops_the_run_and_exits(scene, tmp_path):
    """
    Kill launch outright.

    Its cleanup node (watching launch's pidfd) tears the run down, forgets the run's record and
    exits.
    """
    scene.start(tmp_path)
    assert list(scene.state.glob('launch-*.json')), 'no run record'
    os.kill(scene.run.popen.pid, signal.SIGKILL)
    assert scene.run.wait(30) == -signal.SIGKILL
    assert wait_for(lambda: not scene.left(), 60), scene.left()  # the node is marked too
    assert wait_for(lambda: not list(scene.state.glob('launch-*.json')), 10), \
        'the node did not forget the run it stopped'


def test_sigint_ignored_at_start_is_said_and_sigterm_still_stops_everything(scene, tmp_path):
    """
    A launch started with SIGINT ignored says so at start; SIGTERM shuts it down in order.

    A script's ``( ros2 launch ... & )`` starts it so; SIGINT stays ignored (POSIX).
    """
    scene.start(tmp_path, shell_prefix='trap "" INT')
    text = scene.run.text
    assert 'SIGINT is ignored in this launch' in text, text[-3000:]
    os.kill(scene.run.popen.pid, signal.SIGINT)
    os.kill(scene.run.popen.pid, signal.SIGTERM)
    assert scene.run.wait(120) == 0, scene.run.text[-3000:]
    text = scene.run.text
    assert 'user interrupted with ctrl-c' not in text, text[-3000:]
    assert 'SIGTERM received: shutting down' in text, text[-3000:]
    assert wait_for(lambda: not scene.left(), 30), scene.left()
    assert '/cleanup quick: ok' in text, text[-3000:]


def test_launch_and_node_killed_the_next_run_start_stops_what_they_left(scene, tmp_path):
    """
    Both killed by SIGKILL (nobody left to tear down).

    The run's record stays, and the next wrapped launch stops what is left before it starts its own
    run.
    """
    scene.start(tmp_path)
    node = [c.pid for c in rosproc.marked(scene.mark) if 'cleanup_node' in c.cmdline]
    assert len(node) == 1
    os.kill(node[0], signal.SIGKILL)
    os.kill(scene.run.popen.pid, signal.SIGKILL)
    assert scene.run.wait(30) == -signal.SIGKILL
    scene.run.close()
    assert wait_for(lambda: len(scene.orphans()) == 2, 10)  # left: nobody stopped them
    assert list(scene.state.glob('launch-*.json'))
    scene.start(tmp_path)  # the next run
    text = scene.run.text
    assert re.search(r'run run-\w+ of launch pid \d+, which is gone: stopped \d+ process(?:es)? '
                     r'\(0 left\)', text), text[-3000:]
    assert len(scene.orphans()) == 2  # this run's own orphans, the old ones are gone
    os.kill(scene.run.popen.pid, signal.SIGTERM)
    assert scene.run.wait(120) == 0, scene.run.text[-3000:]
    assert wait_for(lambda: not scene.left(), 30), scene.left()


def test_expclean_teardown_last_stops_what_a_killed_launch_left(scene, tmp_path):
    scene.start(tmp_path)
    node = [c.pid for c in rosproc.marked(scene.mark) if 'cleanup_node' in c.cmdline]
    os.kill(node[0], signal.SIGKILL)
    os.kill(scene.run.popen.pid, signal.SIGKILL)
    assert scene.run.wait(30) == -signal.SIGKILL
    assert wait_for(lambda: len(scene.orphans()) == 2, 10)
    expclean = os.path.join(os.path.dirname(rosproc.ros2()), 'expclean')
    out = subprocess.run([expclean, 'teardown', '--last'], env=scene.env(), timeout=120,
                         stdin=subprocess.DEVNULL, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(r'\(launch pid \d+, gone\): stopped \d+ process(?:es)? \(0 left\)',
                     out.stdout), out.stdout
    assert wait_for(lambda: not scene.left(), 30), scene.left()
    again = subprocess.run([expclean, 'teardown', '--last'], env=scene.env(), timeout=120,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True)
    assert again.returncode == 0 and 'no recorded run' in again.stdout, again.stdout


def test_timeout_from_a_script_ends_the_launch_in_order(scene, tmp_path):
    """
    `timeout` (no terminal, in a script) sends SIGTERM to launch and its process group.

    An orderly shutdown all the same, nothing left.
    """
    out = tmp_path / 'out.log'
    go = tmp_path / 'go'
    script = (f'timeout -k 60 600 {rosproc.ros2()} launch expclean_ros wrap.launch.py '
              f'file:={scene.launch_file} cleanup:=quick > {out} 2>&1 & '
              f'while [ ! -e {go} ]; do sleep 0.1; done; kill -TERM $!; wait $!')
    shell = subprocess.Popen(['bash', '-c', script], env=scene.env(), start_new_session=True,
                             stdin=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: out.exists() and
                        'cleanup call /cleanup/quick ready' in out.read_text(), 90)
        assert wait_for(lambda: len(scene.orphans()) == 2, 30), scene.orphans()
        go.touch()  # the script's SIGTERM to timeout, which passes it on (as at its limit)
        assert shell.wait(120) == 0, out.read_text()[-3000:]  # launch's own exit status
    finally:
        if shell.poll() is None:
            os.killpg(shell.pid, signal.SIGKILL)  # its own session
            shell.wait(10)
    text = out.read_text()
    assert 'SIGTERM received: shutting down' in text, text[-3000:]
    assert '/cleanup quick: ok' in text, text[-3000:]
    assert wait_for(lambda: not scene.left(), 30), scene.left()


def test_sigkill_to_a_launch_of_the_node_alone_leaves_no_node(tmp_path):
    """cleanup.launch.py (no run tag): killed by SIGKILL, its node exits too."""
    mark = rosproc.new_mark()
    run = rosproc.PtyProcess([rosproc.ros2(), 'launch', 'expclean_ros', 'cleanup.launch.py'],
                             rosproc.marked_env(mark), tmp_path / 'launch.log')
    try:
        assert run.wait_for(READY, 90), run.text[-3000:]
        os.kill(run.popen.pid, signal.SIGKILL)
        assert run.wait(30) == -signal.SIGKILL
        assert wait_for(lambda: not rosproc.marked(mark), 60), rosproc.marked(mark)
    finally:
        run.close()
        rosproc.stop_marked(mark)


def test_sigterm_to_every_process_at_once_as_a_job_manager_does(scene, tmp_path):
    """
    Slurm's scancel and time limit, systemd's stop.

    SIGTERM to launch and to every process of the job, the cleanup node included. The node stays
    for launch's cleanup call.
    """
    scene.start(tmp_path)
    for pid in [c.pid for c in rosproc.marked(scene.mark)] + [scene.run.popen.pid]:
        try:
            os.kill(pid, signal.SIGTERM)  # the test's own processes, by pid
        except ProcessLookupError:
            pass  # a short-lived helper of the scene, gone already
    assert scene.run.wait(120) == 0, scene.run.text[-3000:]
    text = scene.run.text
    assert 'SIGTERM while the launch that started this node still runs' in text, text[-3000:]
    assert '/cleanup quick: ok' in text, text[-3000:]
    assert wait_for(lambda: not scene.left(), 30), scene.left()
