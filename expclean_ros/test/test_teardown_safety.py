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
Teardown safety on real processes.

Protected cgroup members, fast-exiting runs, the caller's own line, dead session leaders, odd
ROS_DOMAIN_ID values, ledger cgroups, and Ctrl-C to a runner.
"""

import json
import os
import signal
import subprocess
import sys
import uuid

import pytest

from helpers import proctree
from helpers.nodes import wait_for
from expclean_ros.core.procs import cgroups, proctable
from expclean_ros.core.runs.tagged_start import start_tagged
from expclean_ros.core.procs.scanner import select
from expclean_ros.core.procs.selection import Selection
from expclean_ros.core.runs.cgroup_trust import trusted_cgroup
from expclean_ros.core.runs.options import SequencerOptions
from expclean_ros.core.runs.sequencer import stop_tag
from expclean_ros.core.procs.teardown import teardown
from helpers.cli import start_runner
from helpers.experiment import tagged_with_mark
from helpers.sibling import teardown_from_sibling

TIMEOUTS = dict(sigint_timeout_s=0.5, sigterm_timeout_s=0.5, sigkill_timeout_s=1.0)

# Forks a "ROS 2 daemon" (protected by name), writes its pid, then ignores SIGINT/SIGTERM.
_WITH_DAEMON = '''
import os, signal, sys, time
pid = os.fork()
if pid == 0:
    os.setsid()
    os.execv('/bin/sleep', ['_ros2' + '_daemon', '300'])
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
with open(sys.argv[1] + '.tmp', 'w') as f:
    f.write(str(pid))
os.rename(sys.argv[1] + '.tmp', sys.argv[1])
while True:
    time.sleep(1)
'''


def _cgroup_run(cmd):
    run = start_tagged(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if run.mechanism != 'cgroup':
        run.stop(**TIMEOUTS)
        pytest.skip(f'no cgroup of our own here: {run.cgroup_unavailable}')
    return run


def test_cgroup_kill_spares_a_protected_member_and_the_cgroup_is_removed(tmp_path):
    pidfile = tmp_path / 'daemon.pid'
    script = tmp_path / 'with_daemon.py'  # a file: the name is not in the run's command line
    script.write_text(_WITH_DAEMON)
    run = _cgroup_run([sys.executable, str(script), str(pidfile)])
    daemon = None
    try:
        assert wait_for(pidfile.exists, 30), 'the run never forked its daemon'
        daemon = int(pidfile.read_text())
        assert wait_for(lambda: '_ros2_daemon' in proctable.read_cmdline(daemon), 60)
        assert daemon in cgroups.procs(run.cgroup)
        daemon_ticks = proctable.read_proc(daemon).start_ticks
        result = run.stop(**TIMEOUTS)
        assert result.stage_of(run.pid) == 'sigkill', result.summary()
        assert result.stage_of(daemon) is None and not result.left
        info = proctable.read_proc(daemon)
        assert info is not None and info.start_ticks == daemon_ticks and not info.zombie
        assert not os.path.exists(run.cgroup), 'the spared daemon kept the cgroup busy'
    finally:
        if run.popen.poll() is None:
            run.stop(**TIMEOUTS)
        if daemon is not None and proctable.read_proc(daemon) is not None:
            os.kill(daemon, signal.SIGKILL)  # the daemon our own test started, by pid


@pytest.mark.parametrize('cmd', [['true'], ['sh', '-c', 'sleep 0.5 & exit 0']])
def test_a_run_that_exits_at_once_leaves_no_cgroup(cmd):
    parent, why = cgroups.own_cgroup_dir()
    if parent is None or not os.access(parent, os.W_OK):
        pytest.skip(f'no cgroup of our own here: {why or "not writable"}')
    run = start_tagged(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    path = os.path.join(parent, f'expclean-{run.run_id}')
    try:
        assert run.mechanism == 'cgroup' and run.cgroup == path, run.cgroup_unavailable
        run.popen.wait(10)
        result = run.stop(**TIMEOUTS)
        assert not result.left, result.summary()
        if cmd[0] == 'sh':  # the backgrounded child (a forked sh until it execs sleep) stopped
            assert [p.pid for p in result.processes if p.pid != run.pid] and all(
                p.stage in ('sigint', 'sigterm', 'sigkill') for p in result.processes), \
                result.summary()
        assert not os.path.exists(path)
        assert select(Selection(tag=run.run_id)) == []
    finally:
        run.stop(**TIMEOUTS)


def test_the_command_itself_is_the_popen_and_its_first_fork_is_in_the_cgroup(tmp_path):
    run = _cgroup_run(['sh', '-c', 'sleep 301 & echo $! > "$0"; exec sleep 302',
                       str(tmp_path / 'bg')])
    try:
        assert wait_for(lambda: proctable.read_cmdline(run.pid) == 'sleep 302', 60)
        bg = int((tmp_path / 'bg').read_text())
        assert {run.pid, bg} <= cgroups.procs(run.cgroup)
    finally:
        result = run.stop(**TIMEOUTS)
    assert not result.left and result.stage_of(run.pid) == 'sigint'


def test_missing_program_is_refused_like_popen_does(tmp_path):
    run_id = 'run-' + uuid.uuid4().hex
    with pytest.raises(FileNotFoundError):
        start_tagged([str(tmp_path / 'no-such-program')], run_id=run_id)
    parent = cgroups.own_cgroup_dir()[0]
    assert parent is None or not os.path.exists(os.path.join(parent, f'expclean-{run_id}'))


def test_pattern_never_chooses_the_callers_own_children():
    token = 'own' + uuid.uuid4().hex[:12]
    sc = proctree.start_scene(('idle', token), roles={token})
    try:
        assert select(Selection(patterns=(token,))) == []
        assert teardown(Selection(patterns=(token,)), **TIMEOUTS).processes == ()
        assert [c.pid for c in select(Selection(patterns=(token,), spare_own_children=False))
                ] == [sc.popen.pid]
        assert sc.popen.poll() is None
        # from a sibling it is an ordinary match; tag/tree of our own children stay allowed
        seen = teardown_from_sibling({'patterns': [token]}, dry_run=True)
        assert [p['pid'] for p in seen['processes']] == [sc.popen.pid]
        assert [c.pid for c in select(Selection(root_pid=sc.popen.pid))] == [sc.popen.pid]
    finally:
        sc.kill_all()


def test_tree_of_a_dead_session_leader_reaches_its_orphans():
    leader = subprocess.Popen(['sh', '-c', 'sleep 303 & echo $!'], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    orphan = int(leader.stdout.readline())
    leader.stdout.close()
    try:
        leader.wait(10)  # reaped: the leader's pid is gone, its session lives on
        assert proctable.read_proc(leader.pid) is None
        assert proctable.read_proc(orphan).sid == leader.pid
        found = select(Selection(root_pid=leader.pid))
        assert [(c.pid, c.reason) for c in found] == [(orphan, f'in session of {leader.pid}')]
        result = teardown(Selection(root_pid=leader.pid), **TIMEOUTS)
        assert not result.left and result.stage_of(orphan) in ('sigint', 'sigterm')
        assert wait_for(lambda: proctable.read_proc(orphan) is None
                        or proctable.read_proc(orphan).zombie, 10)
        with pytest.raises(ValueError, match=f'root_pid {leader.pid} does not exist'):
            select(Selection(root_pid=leader.pid))
    finally:
        info = proctable.read_proc(orphan)
        if info is not None and info.sid == leader.pid and not info.zombie:
            os.kill(orphan, signal.SIGKILL)


def test_an_odd_ros_domain_id_is_spared_and_ours_refused_for_patterns(monkeypatch):
    token = 'dom' + uuid.uuid4().hex[:12]
    sc = proctree.start_scene(('idle', token), roles={token},
                              env=proctree.scene_env(ROS_DOMAIN_ID='\u00b2'))
    try:
        for domain in (0, 2):
            seen = teardown_from_sibling({'patterns': [token], 'domain_id': domain})
            assert seen['processes'] == []
        assert sc.popen.poll() is None
        monkeypatch.setenv('ROS_DOMAIN_ID', '\u00b2')
        with pytest.raises(ValueError, match="ROS_DOMAIN_ID must be a non-negative integer"):
            Selection(patterns=(token,))
        assert Selection(tag='x').domain_id is None  # only patterns need our domain
        assert Selection(patterns=(token,), domain_id=3).domain_id == 3
    finally:
        sc.kill_all()


def test_resume_ignores_a_ledger_cgroup_that_is_not_the_runs_own():
    decoy, why = cgroups.create('expclean-decoy-' + uuid.uuid4().hex)
    if decoy is None:
        pytest.skip(f'no cgroup of our own here: {why}')
    sleeper = subprocess.Popen(['sleep', '304'], stdin=subprocess.DEVNULL)
    try:
        assert cgroups.join(decoy, sleeper.pid) is None
        opts = SequencerOptions(sigint_timeout_s=0.5, sigterm_timeout_s=0.5,
                                sigkill_timeout_s=0.5)
        assert trusted_cgroup('run-x', decoy) is None
        assert trusted_cgroup('run-x', os.path.join(decoy, '..', 'expclean-run-x')) is None
        own = os.path.join(os.path.dirname(decoy), 'expclean-run-x')
        os.mkdir(own)
        try:
            assert trusted_cgroup('run-x', own) == own
        finally:
            os.rmdir(own)
        result = stop_tag('run-x', decoy, opts)
        assert result['processes'] == [] and sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait(10)
        cgroups.remove(decoy)


def test_ctrl_c_to_the_runner_stops_the_current_run(tmp_path, mark):  # noqa: F811
    out, _, ledger, log, runner = start_runner(tmp_path, [(600, 0), (0.1, 0)])
    try:
        assert wait_for(lambda: (out / 'start-0.json').exists(), 60), 'run 1 never started'
        started = json.load(open(out / 'start-0.json'))
        assert set(started['pids']) <= set(tagged_with_mark(mark))
        runner.send_signal(signal.SIGINT)  # by pid: our own child
        assert runner.wait(60) == 130
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait(10)
        log.close()
    assert tagged_with_mark(mark) == {}, 'the interrupted run was left running'
    lines = [json.loads(line) for line in open(ledger)]
    assert [line['type'] for line in lines] == ['header', 'started']  # --resume redoes it
