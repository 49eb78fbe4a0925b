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
The rules for requests from peers, on real processes and without ROS.

The node's domain in these tests is 0, as a node started without ROS_DOMAIN_ID
would have: there, a process merely lacking ROS_DOMAIN_ID must never be reached
by a pattern (only an explicit 0 or a run tag proves it is part of ROS or a run).
"""

import os
import subprocess
import sys
import threading

import pytest

from helpers.nodes import start_ticks, wait_execed
from expclean_ros.core.procs import requests
from expclean_ros.core.procs.patterns import PatternTimeout
from expclean_ros.core.procs.scanner import select
from expclean_ros.core.procs.selection import Selection
from expclean_ros.core.runs.tagged_start import new_run_id
from expclean_ros.ros import parameters

SLEEP = 'import time; time.sleep(120)'
MARK = 'strict_domain_mark_' + str(os.getpid())


@pytest.fixture
def scene():
    """Four sleepers with the same command line: only their environments differ."""
    base = {'PATH': os.environ.get('PATH', '/usr/bin:/bin')}
    envs = {'unset': base,
            'explicit_0': dict(base, ROS_DOMAIN_ID='0'),
            'tagged_unset': dict(base, EXPCLEAN_RUN_ID=new_run_id()),
            'other_domain': dict(base, ROS_DOMAIN_ID='5', EXPCLEAN_RUN_ID=new_run_id())}
    procs = {role: subprocess.Popen([sys.executable, '-S', '-c', SLEEP, MARK], env=env,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
             for role, env in envs.items()}
    try:
        for p in procs.values():  # past execve: command line and environ readable
            assert wait_execed(p.pid, MARK), f'sleeper {p.pid} never ran'
        yield {role: p.pid for role, p in procs.items()}
    finally:
        for p in procs.values():
            p.kill()  # by PID: our own children
            p.wait(10)


def _chosen(scene, **kwargs):
    pids = {c.pid for c in select(Selection(patterns=(MARK,), domain_id=0,
                                            spare_own_children=False, **kwargs))}
    return sorted(role for role, pid in scene.items() if pid in pids)


def test_strict_domain_needs_proof_of_domain_0(scene):
    assert _chosen(scene, strict_domain=True) == ['explicit_0', 'tagged_unset']
    # The lenient rule of a local script (the original script's drop-in): unset counts as 0.
    assert _chosen(scene) == ['explicit_0', 'tagged_unset', 'unset']


def test_request_selection_is_strict_and_bounded():
    policy = requests.RequestPolicy(tag_variable='MY_TAG', allow_patterns=True)
    chosen = requests.teardown_selection(policy, patterns=[MARK], caller_pid=4321)
    assert chosen.strict_domain and chosen.time_limit_s == requests.SELECTION_TIME_LIMIT_S
    assert chosen.tag_variable == 'MY_TAG' and chosen.spare_pids == (4321,)
    assert chosen.spare_own_children, 'the node never chooses its own hook shells'


@pytest.mark.parametrize('fields,reason', [
    (dict(run_tag='/root'), 'does not look like a run tag'),
    (dict(run_tag='run-' + 'A' * 32), 'does not look like a run tag'),
    (dict(run_tag='r' * 200), 'at most 128'),
    (dict(patterns=['.']), 'patterns in a request are off'),
    (dict(root_pid=12345), 'without root_start_time'),
    (dict(root_start_time=5), 'root_start_time given without root_pid'),
    (dict(root_pid=2 ** 31), 'is not a process id'),
    (dict(caller_pid=2 ** 31, run_tag=new_run_id()), 'caller_pid'),
])
def test_refused_requests_say_why(fields, reason):
    with pytest.raises(ValueError, match=reason):
        requests.teardown_selection(requests.RequestPolicy(), **fields)


@pytest.mark.parametrize('patterns,reason', [
    (['x'] * 17, '17 patterns given'),
    (['x' * 257], 'at most 256'),
    (['ros2 ('], 'invalid pattern'),
])
def test_pattern_bounds_when_allowed(patterns, reason):
    with pytest.raises(ValueError, match=reason):
        requests.teardown_selection(requests.RequestPolicy(allow_patterns=True),
                                    patterns=patterns)


def test_a_catastrophic_pattern_is_cut_off(scene):
    """(a|aa)+$ over a run of a's backtracks for minutes with re; here it stops at the limit."""
    bait_text = 'a' * 40 + '!'
    bait = subprocess.Popen([sys.executable, '-S', '-c', SLEEP, bait_text],
                            env=dict(os.environ, ROS_DOMAIN_ID='0'), stdin=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        assert wait_execed(bait.pid, bait_text)
        outcome = []

        def search():
            try:
                select(Selection(patterns=('(a|aa)+$',), domain_id=0, strict_domain=True,
                                 time_limit_s=0.3, spare_own_children=False))
                outcome.append('returned')
            except PatternTimeout:
                outcome.append('cut off')
        # regex releases the GIL while it matches: a search the limit did not stop runs
        # for minutes in its thread while this one gives up on it (a hang made a failure)
        worker = threading.Thread(target=search, daemon=True)
        worker.start()
        worker.join(60)
        assert outcome == ['cut off'], outcome or 'the limit did not stop the search'
        assert bait.poll() is None
    finally:
        bait.kill()
        bait.wait(10)


def test_a_root_of_another_start_time_is_refused():
    proc = subprocess.Popen([sys.executable, '-S', '-c', SLEEP], stdin=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        ticks = start_ticks(proc.pid)
        with pytest.raises(ValueError, match='belongs to another process'):
            select(Selection(root_pid=proc.pid, root_start_ticks=ticks + 1))
        assert [c.pid for c in select(Selection(root_pid=proc.pid, root_start_ticks=ticks))] \
            == [proc.pid]
    finally:
        proc.kill()
        proc.wait(10)


def test_hooks_as_root_need_consent():
    hooks = dict(parameters.DEFAULTS, **{'hooks.after': ['sync']})
    assert 'hooks.allow_as_root' in parameters.check_privileges(hooks, 0)
    assert parameters.check_privileges(dict(hooks, **{'hooks.allow_as_root': True}), 0) is None
    assert parameters.check_privileges(hooks, 1000) is None
    assert parameters.check_privileges(parameters.DEFAULTS, 0) is None


def test_what_decides_what_runs_or_dies_is_read_only():
    decisive = {'hooks.before', 'hooks.after', 'hooks.timeout_s', 'hooks.allow_as_root',
                'teardown.tag_variable', 'teardown.protect', 'teardown.patterns',
                'teardown.allow_request_patterns', 'teardown.run_tag_format',
                'teardown.allow_other_users', 'allow_gpu_reset', 'allow_system_caches',
                'shm_cleanup', 'launch.pid', 'launch.run_tag', 'launch.cgroup'}
    assert {s.name for s in parameters.PARAMETERS if s.read_only} == decisive


def test_the_default_protect_list_covers_every_caller():
    protect = Selection(tag='x', protect=parameters.DEFAULTS['teardown.protect']).compiled_protect
    callers = ['/usr/bin/python3 /opt/ros/kilted/bin/ros2 service call /cleanup/quick '
               'std_srvs/srv/Trigger',
               'ros2 service call /robot1/cleanup/between_runs expclean_interfaces/srv/X {}',
               'ros2 cleanup call /cleanup comprehensive',
               '/venv/bin/python /venv/bin/expclean run runs.csv -- ros2 launch a b',
               'python -m expclean_ros.cli call quick',
               '/usr/bin/python3 /usr/bin/ros2-daemon --rmw-implementation x']
    for line in callers:
        assert any(rx.search(line) for rx in protect), line
    for line in ['ros2 launch my_pkg exp.launch.py', 'python bag_test.py expclean_data',
                 'ros2 service call /other/service std_srvs/srv/Trigger']:
        assert not any(rx.search(line) for rx in protect), line
