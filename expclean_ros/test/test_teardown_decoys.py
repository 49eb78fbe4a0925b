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
Decoys that must survive every teardown.

Other users, look-alikes, other sessions, other domains, the protect list, the runner itself, its
ancestors, and pid 1.
"""

import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from helpers import proctree
from expclean_ros.core.procs import proctable
from expclean_ros.core.procs.scanner import select
from expclean_ros.core.procs.selection import Selection
from expclean_ros.core.procs.teardown import teardown
from helpers.sibling import teardown_from_sibling

TIMEOUTS = dict(sigint_timeout_s=1.0, sigterm_timeout_s=1.0, sigkill_timeout_s=1.0)
NOBODY_UID = 65534


def _kill(pid, ticks):
    info = proctable.read_proc(pid)
    if info is not None and info.start_ticks == ticks:
        os.kill(pid, signal.SIGKILL)


def _wait_running_as(pid, uid, cmd_start, timeout_s=60.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        info = proctable.read_proc(pid)
        if (info is not None and not info.zombie and proctable.real_uid(pid) == uid
                and proctable.read_cmdline(pid).startswith(cmd_start)):
            return info
        time.sleep(0.02)
    raise RuntimeError(f'decoy {pid} is not running as uid {uid} ({cmd_start!r})')


@pytest.fixture
def decoys():
    """Decoys sharing the run tag where they could be confused with the run."""
    tag = 'test-' + uuid.uuid4().hex
    popens, found = {}, {}
    try:
        # another user's process, carrying our run tag and our domain
        other = subprocess.Popen(
            ['setpriv', '--reuid', 'nobody', '--regid', 'nogroup', '--clear-groups',
             'sleep', '3601'], env=proctree.scene_env(EXPCLEAN_RUN_ID=tag),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        popens['other_user'] = other
        found['other_user'] = _wait_running_as(other.pid, NOBODY_UID, 'sleep 3601')
        # the scene's exact command line, no tag, in a session of its own
        look = proctree.start_scene(roles={'decoy'}, env=proctree.scene_env(PROCTREE_ONLY='decoy'))
        popens['lookalike'] = look.popen
        found['lookalike'] = proctable.read_proc(look.pids['decoy'])
        # tagged, but on the protect list (as a ros2 daemon started inside a run would be)
        prot = proctree.start_scene(('idle', 'x_ros2_daemon'), roles={'x_ros2_daemon'},
                                    env=proctree.scene_env(EXPCLEAN_RUN_ID=tag))
        popens['protected'] = prot.popen
        found['protected'] = proctable.read_proc(prot.pids['x_ros2_daemon'])
        yield tag, found
        for name, info in found.items():
            still = proctable.read_proc(info.pid)
            assert still is not None and still.start_ticks == info.start_ticks, name
            assert not still.zombie, name
    finally:
        for name, popen in popens.items():
            if name in found:
                _kill(found[name].pid, found[name].start_ticks)
            popen.kill()
            popen.wait(5)


def _assert_runner_and_init_safe(result):
    pids = {p.pid for p in result.processes}
    me = proctable.read_proc(os.getpid())
    assert {1, os.getpid(), os.getppid(), me.ppid} & pids == set()
    assert proctable.read_proc(1) is not None  # asserted only, never signalled


def _assert_chose_the_scene(result, sc, found):
    """
    Every scene process chosen.

    Anything else chosen was a short-lived member of the scene (the orphan's middle process, which
    exits at once) and no decoy.
    """
    chosen = {p.pid for p in result.processes}
    assert set(sc.pids.values()) <= chosen, result.summary()
    for pid in chosen - set(sc.pids.values()):
        info = proctable.read_proc(pid)
        assert info is None or info.zombie, (pid, result.summary())
    assert not chosen & {info.pid for info in found.values()}


def test_tag_teardown_spares_decoys(decoys):
    tag, found = decoys
    sc = proctree.start_scene(env=proctree.scene_env(EXPCLEAN_RUN_ID=tag))
    try:
        result = teardown(Selection(tag=tag), **TIMEOUTS)
        assert not result.left, result.summary()
        _assert_chose_the_scene(result, sc, found)
        _assert_runner_and_init_safe(result)
    finally:
        sc.kill_all()


def test_tree_teardown_spares_decoys(decoys):
    _, found = decoys
    sc = proctree.start_scene(('scene', '--no-node'))
    try:
        result = teardown(Selection(root_pid=sc.pids['root']), **TIMEOUTS)
        assert not result.left, result.summary()
        _assert_chose_the_scene(result, sc, found)
        _assert_runner_and_init_safe(result)
    finally:
        sc.kill_all()


def test_dry_run_over_our_own_ancestors_selects_none_of_them():
    """Rooted at our parent or ourselves: refused; matching our command line: never us."""
    me = proctable.read_proc(os.getpid())
    parent = proctable.read_proc(me.ppid)
    mine = proctable.read_cmdline(os.getpid())
    for root in (parent.pid, os.getpid()):
        with pytest.raises(ValueError, match=f'root_pid {root} is this process, the caller or '
                                             'one of their ancestors: its tree holds the caller'):
            teardown(Selection(root_pid=root), dry_run=True)
        with pytest.raises(ValueError, match='its tree holds the caller'):
            select(Selection(root_pid=root))
    sel_pattern = Selection(patterns=(mine.replace('(', '.').replace(')', '.')[:40],))
    _assert_runner_and_init_safe(teardown(sel_pattern, dry_run=True))


def test_runner_carrying_the_tag_spares_itself_and_its_parent(tmp_path):
    """A tagged process tearing down its own tag: its sibling goes, it and its parent stay."""
    tag = 'test-' + uuid.uuid4().hex
    out = tmp_path / 'runner.json'
    code = ('import json, os, sys\n'
            'from expclean_ros.core.procs.selection import Selection\n'
            'from expclean_ros.core.procs.teardown import teardown\n'
            'r = teardown(Selection(tag=os.environ["EXPCLEAN_RUN_ID"]), 1.0, 1.0, 1.0)\n'
            'json.dump({"me": os.getpid(), "parent": os.getppid(), "r": r.as_dict()},'
            ' open(sys.argv[1], "w"))\n')
    shell = subprocess.Popen(
        ['sh', '-c', 'sleep 3602 & "$0" -c "$1" "$2"; exec sleep 3603', sys.executable, code,
         str(out)], env=proctree.scene_env(EXPCLEAN_RUN_ID=tag), stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        # the runner has finished once the shell went on to its last command (the file
        # is written and closed by then)
        deadline = time.monotonic() + 60  # only a hang ends the wait
        while proctable.read_cmdline(shell.pid) != 'sleep 3603':
            assert time.monotonic() < deadline and shell.poll() is None, \
                proctable.read_cmdline(shell.pid)
            time.sleep(0.05)
        data = json.loads(out.read_text())
        pids = {p['pid']: p for p in data['r']['processes']}
        assert data['me'] not in pids and data['parent'] not in pids
        assert data['parent'] == shell.pid and shell.poll() is None
        sleepers = [p for p in pids.values() if p['cmdline'] == 'sleep 3602']
        # sh starts '&' jobs with SIGINT ignored (POSIX), so SIGTERM stops it
        assert len(sleepers) == 1 and sleepers[0]['stage'] == 'sigterm'
    finally:
        os.killpg(shell.pid, signal.SIGKILL)  # its own session, started by us
        shell.wait(5)


def test_pattern_selection_spares_other_ros_domains():
    token = 'ptn' + uuid.uuid4().hex[:12]
    scenes = {}
    try:
        for name, domain in (('ours', '42'), ('other', '43'), ('unset', None)):
            env = proctree.scene_env(ROS_DOMAIN_ID=domain or '0')
            if domain is None:
                del env['ROS_DOMAIN_ID']
            scenes[name] = proctree.start_scene(('idle', f'{token}-{name}'),
                                                roles={f'{token}-{name}'}, env=env)
        result = teardown_from_sibling({'patterns': [token], 'domain_id': 42})
        stages = {p['pid']: p['stage'] for p in result['processes']}
        assert stages == {scenes['ours'].popen.pid: 'sigint'}
        assert scenes['other'].popen.poll() is None and scenes['unset'].popen.poll() is None
        # unset means domain 0
        picked = teardown_from_sibling({'patterns': [token], 'domain_id': 0}, dry_run=True)
        assert [p['pid'] for p in picked['processes']] == [scenes['unset'].popen.pid]
    finally:
        for sc in scenes.values():
            sc.kill_all()
