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
Tagged runs.

Started in a new session with a fresh tag (and a cgroup where allowed), stopped completely.
"""

import os
import subprocess

import pytest

from helpers import proctree
from expclean_ros.core.procs import cgroups, proctable
from expclean_ros.core.runs.tagged_start import new_run_id, start_tagged

TIMEOUTS = dict(sigint_timeout_s=1.0, sigterm_timeout_s=1.0, sigkill_timeout_s=1.0)
NO_NODE = ('scene', '--no-node')


def _launcher(**kwargs):
    runs = []

    def launch(cmd, env, pass_fds):
        run = start_tagged(cmd, env=env, pass_fds=pass_fds, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, **kwargs)
        runs.append(run)
        return run
    return launch, runs


def _stop_and_check(sc, run):
    result = run.stop(**TIMEOUTS)
    assert not result.left, result.summary()
    for role, pid in sc.pids.items():
        assert not sc.alive(role), role
        assert result.stage_of(pid) == proctree.SCENE_STAGES[role], (role, result.summary())
    assert run.popen.returncode == -2  # the root exited on SIGINT; reaped for the Popen
    return result


def test_tagged_run_carries_a_fresh_tag_in_a_new_session():
    launch, runs = _launcher(use_cgroup=False)
    sc = proctree.start_scene(NO_NODE, launcher=launch)
    try:
        run = runs[0]
        assert run.mechanism == 'tag' and run.cgroup is None
        assert run.cgroup_unavailable == 'not requested'
        root = proctable.read_proc(run.pid)
        assert root.sid == run.pid != os.getsid(0)
        for pid in sc.pids.values():
            assert proctree.environ_var(pid, 'EXPCLEAN_RUN_ID') == ('ok', run.run_id)
        result = _stop_and_check(sc, run)
        assert result.mechanism == 'tag'
    finally:
        sc.kill_all()


def test_cgroup_run_is_stopped_and_its_cgroup_removed():
    launch, runs = _launcher()
    sc = proctree.start_scene(NO_NODE, launcher=launch)
    try:
        run = runs[0]
        if run.mechanism != 'cgroup':
            pytest.skip(f'no writable cgroup v2 with cgroup.kill here: {run.cgroup_unavailable}')
        assert set(sc.pids.values()) <= cgroups.procs(run.cgroup)
        result = _stop_and_check(sc, run)
        assert result.mechanism == 'cgroup+tag'
        assert result.killed == 1
        assert not os.path.exists(run.cgroup)
    finally:
        sc.kill_all()


def test_dry_run_of_a_run_stops_nothing():
    launch, runs = _launcher()
    sc = proctree.start_scene(NO_NODE, launcher=launch)
    try:
        result = runs[0].stop(dry_run=True)
        assert {p.stage for p in result.processes} == {'would_stop'}
        assert all(sc.alive(role) for role in sc.pids)
        _stop_and_check(sc, runs[0])
    finally:
        sc.kill_all()


def test_start_tagged_refuses_a_string_command_and_ids_are_fresh():
    with pytest.raises(ValueError, match='non-empty sequence'):
        start_tagged('sleep 1')
    with pytest.raises(ValueError, match='non-empty sequence'):
        start_tagged([])
    assert new_run_id() != new_run_id()


def test_explicit_run_id_and_tag_variable():
    run = start_tagged(['sleep', '30'], run_id='fixed-id-' + new_run_id(), tag_variable='MY_TAG')
    try:
        assert proctree.environ_var(run.pid, 'MY_TAG') == ('ok', run.run_id)
        result = run.stop(**TIMEOUTS)
        assert result.stage_of(run.pid) == 'sigint' and run.popen.returncode == -2
    finally:
        if run.popen.poll() is None:
            run.popen.kill()
            run.popen.wait(5)
