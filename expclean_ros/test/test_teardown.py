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

"""Teardown of real process trees: every process gone, each at the stage expected."""

import os
import subprocess
import uuid

import pytest

from helpers import proctree
from expclean_ros.core.procs import proctable
from expclean_ros.core.step_result import OK
from expclean_ros.core.procs.pidfd import open_checked
from expclean_ros.core.procs.scanner import select
from expclean_ros.core.procs.selection import Candidate, NO_SELECTION_MESSAGE, Selection
from expclean_ros.core.procs.teardown import teardown
from expclean_ros.core.procs.teardown_step import teardown_step

# Short but safe stages: the rclpy node needs well under 1.5 s to handle SIGINT.
TIMEOUTS = dict(sigint_timeout_s=1.5, sigterm_timeout_s=1.0, sigkill_timeout_s=1.0)


@pytest.fixture
def tagged_scene():
    tag = 'test-' + uuid.uuid4().hex
    sc = proctree.start_scene(env=proctree.scene_env(EXPCLEAN_RUN_ID=tag))
    sc.tag = tag
    try:
        yield sc
    finally:
        sc.kill_all()


def _assert_all_gone_at_expected_stage(sc, result):
    assert not result.left, result.summary()
    for role, pid in sc.pids.items():
        assert not sc.alive(role), f'{role} ({pid}) still running'
        assert result.stage_of(pid) == proctree.SCENE_STAGES[role], (role, result.summary())


def test_tag_teardown_stops_every_process_at_its_stage(tagged_scene):
    calls = []
    result = teardown(Selection(tag=tagged_scene.tag), after_sigkill=calls.append, **TIMEOUTS)
    _assert_all_gone_at_expected_stage(tagged_scene, result)
    assert result.stopped == len(tagged_scene.pids)
    assert result.mechanism == 'tag'
    assert calls == [1] and result.killed == 1  # only term_ignorer needed SIGKILL
    # reasons: the re-parented orphan and the setsid child were found by their tag
    reasons = {p.pid: p.candidate.reason for p in result.processes}
    assert reasons[tagged_scene.pids['orphan']].startswith('tagged EXPCLEAN_RUN_ID=')
    # the root was our child: reaped, with its exit status
    root = [p for p in result.processes if p.pid == tagged_scene.pids['root']][0]
    assert root.exit_code == -2


def test_tree_teardown_finds_setsid_child_and_orphan_via_session():
    sc = proctree.start_scene()  # no tag at all
    try:
        before = {c.pid: c.reason for c in select(Selection(root_pid=sc.pids['root']))}
        assert set(sc.pids.values()) <= set(before)
        assert before[sc.pids['orphan']] == f"in session of {sc.pids['root']}"
        result = teardown(Selection(root_pid=sc.pids['root']), **TIMEOUTS)
        _assert_all_gone_at_expected_stage(sc, result)
        assert result.mechanism == 'tree'
    finally:
        sc.kill_all()


def test_dry_run_signals_nothing(tagged_scene):
    result = teardown(Selection(tag=tagged_scene.tag), dry_run=True, **TIMEOUTS)
    assert result.dry_run
    assert {p.pid for p in result.processes} == set(tagged_scene.pids.values())
    assert {p.stage for p in result.processes} == {'would_stop'}
    for role in tagged_scene.pids:
        assert tagged_scene.alive(role), role
    step = teardown_step(Selection(tag=tagged_scene.tag), **TIMEOUTS)
    assert step.status == OK and step.data['stopped'] == len(tagged_scene.pids)
    assert step.data['left'] == 0 and len(step.data['processes']) == len(tagged_scene.pids)


def test_refuses_no_selector():
    with pytest.raises(ValueError) as err:
        Selection()
    assert str(err.value) == NO_SELECTION_MESSAGE
    with pytest.raises(ValueError, match='no selection given'):
        Selection(tag='', patterns=())


def test_refuses_invalid_regex_naming_it():
    with pytest.raises(ValueError, match=r"invalid pattern '\(\[ros2'"):
        Selection(patterns=('ros2 launch', '([ros2'))
    with pytest.raises(ValueError, match='invalid protect pattern'):
        Selection(tag='x', protect=('*',))


def test_refuses_pid_that_does_not_exist():
    gone = subprocess.Popen(['true'])
    gone.wait()
    assert proctable.read_proc(gone.pid) is None
    with pytest.raises(ValueError, match=f'root_pid {gone.pid} does not exist'):
        select(Selection(root_pid=gone.pid))
    with pytest.raises(ValueError, match='does not exist'):
        teardown(Selection(root_pid=gone.pid))
    with pytest.raises(ValueError, match='greater than 1'):
        Selection(root_pid=1)


def test_reused_pid_is_never_signalled():
    """A candidate whose start time no longer matches its pid is left alone."""
    proc = subprocess.Popen(['sleep', '30'], stdin=subprocess.DEVNULL)
    try:
        info = proctable.read_proc(proc.pid)
        stale = Candidate(pid=proc.pid, create_time=0.0, name='sleep', cmdline='sleep 30',
                          reason='test', start_ticks=info.start_ticks - 1)
        fd, same = open_checked(stale)
        assert fd is None and not same
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()


def test_process_table_matches_psutil_identity():
    psutil = pytest.importorskip('psutil')
    me = proctable.read_proc(os.getpid())
    assert me.create_time == pytest.approx(psutil.Process().create_time(), abs=0.011)
    assert me.ppid == os.getppid() and me.sid == os.getsid(0) and me.pgid == os.getpgid(0)
    assert proctable.read_environ_var(os.getpid(), 'ROS_DOMAIN_ID')[0] in ('ok', 'unset')
    assert proctable.read_environ_var(2 ** 22 + 1, 'X') == ('gone', None)
