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

"""Plans on the real machine: steps in order, failures as data, the between-runs table."""

import functools
import json
import math
import os
import subprocess
import time
import uuid

import pytest

from helpers.nodes import wait_execed
from expclean_ros.core.cleanup import plans
from expclean_ros.core.cleanup.plans import CleanupOptions, auto_cap, between_runs
from expclean_ros.core.step_result import StepResult
from expclean_ros.core.procs.selection import Selection
from expclean_ros.core.procs.teardown_step import teardown_step

NO_DROP = CleanupOptions(allow_system_caches=False)  # real drops are bounded to test_steps


@pytest.mark.parametrize('total_runs, comprehensive, cap', [
    (1, True, 10.0), (2, True, 10.2), (51, True, 20.0), (101, True, 30.0), (5000, True, 30.0),
    (1, False, 5.0), (11, False, 6.0), (51, False, 10.0), (101, False, 15.0),
    (5000, False, 15.0)])
def test_auto_cap_table(total_runs, comprehensive, cap):
    assert auto_cap(total_runs, comprehensive) == pytest.approx(cap)


def test_auto_cap_grows_within_the_seeds_ranges():
    for full, (lo, hi) in ((True, (10, 30)), (False, (5, 15))):
        caps = [auto_cap(n, full) for n in range(1, 300)]
        assert caps == sorted(caps) and caps[0] == lo and caps[-1] == hi


@pytest.mark.parametrize('run_index', [0, 3, 4])
def test_last_run_is_skipped_others_run(run_index):
    report = between_runs(run_index, 5, comprehensive=False, wait_time=0, options=NO_DROP)
    assert report.skipped == (run_index == 4)
    if report.skipped:
        assert report.steps == () and report.success
        assert 'run 5 of 5 was the last' in report.message
    else:
        assert [s.name for s in report.steps] == ['teardown', 'dds_shm', 'run_shm',
                                                  'python_memory']


def test_single_run_is_skipped():
    assert between_runs(0, 1).skipped


@pytest.mark.parametrize('args, kwargs, rule', [
    ((-1, 5), {}, 'run_index must be an integer >= 0'),
    ((5, 5), {}, r'run_index must be < total_runs \(5\)'),
    ((7, 5), {}, r'run_index must be < total_runs'),
    ((0, 0), {}, 'total_runs must be an integer >= 1'),
    ((0, -3), {}, 'total_runs must be an integer >= 1'),
    ((True, 5), {}, r'run_index must be an integer >= 0 \(not a bool\)'),
    ((0, True), {}, r'total_runs must be an integer >= 1 \(not a bool\)'),
    ((1.0, 5), {}, 'run_index must be an integer'),
    ((0, 5.0), {}, 'total_runs must be an integer'),
    (('0', 5), {}, 'run_index must be an integer'),
    ((0, 5), {'wait_time': -1}, 'wait_time must be a finite number of seconds >= 0'),
    ((0, 5), {'wait_time': math.nan}, 'wait_time must be a finite number'),
    ((0, 5), {'wait_time': math.inf}, 'wait_time must be a finite number'),
    ((0, 5), {'wait_time': True}, 'wait_time must be a finite number'),
    ((0, 5), {'wait_time': '3'}, 'wait_time must be a finite number'),
])
def test_bad_arguments_state_the_rule(args, kwargs, rule):
    with pytest.raises(ValueError, match=rule):
        between_runs(*args, **kwargs)


def test_auto_cap_rejects_bad_total_runs():
    for bad in (0, -1, True, 2.5):
        with pytest.raises(ValueError, match='total_runs must be an integer >= 1'):
            auto_cap(bad)


def test_explicit_wait_time_is_a_fixed_sleep():
    report = between_runs(0, 3, comprehensive=False, wait_time=0.3, options=NO_DROP)
    assert report.settle.samples == 0 and report.settle.seconds >= 0.3
    assert 'waited 0.3 s (fixed)' in report.message


def test_auto_wait_settles_under_the_cap():
    report = between_runs(0, 3, comprehensive=False, options=NO_DROP)
    assert report.settle.samples > 0
    # it ends settled, or at the cap of a quick plan for 3 runs, whichever comes first
    assert report.settle.settled or \
        f'not settled after the {auto_cap(3, False):g} s cap' in report.settle.reason, \
        report.settle


def test_comprehensive_runs_every_step_and_reports_one_line():
    report = plans.comprehensive(NO_DROP, cap_s=5)
    assert [s.name for s in report.steps] == [
        'teardown', 'dds_shm', 'run_shm', 'python_memory', 'drop_caches', 'gpu_reset']
    assert report.success  # skipped steps are not failures
    by_name = {s.name: s for s in report.steps}
    assert by_name['drop_caches'].status == 'skipped'
    assert by_name['drop_caches'].data['reason'] == 'disabled'
    assert by_name['gpu_reset'].status == 'skipped'  # GPU reset is off by default
    assert '\n' not in report.message
    assert report.message.startswith('comprehensive ok in ')
    assert 'RAM ' in report.message and 'drop_caches skipped (disabled)' in report.message
    assert report.memory_before is not None and report.memory_after is not None
    json.dumps(report.as_dict())


def test_quick_has_no_system_caches_or_gpu_reset():
    report = plans.quick(cap_s=5)
    assert [s.name for s in report.steps] == ['teardown', 'dds_shm', 'run_shm', 'python_memory']


def test_failing_hook_does_not_stop_the_following_steps(tmp_path):
    marker = tmp_path / 'after'
    options = CleanupOptions(allow_system_caches=False, hooks_before=('echo nope; exit 4',),
                             hooks_after=(f'touch {marker}', 'sleep 5'), hook_timeout_s=0.3)
    report = plans.comprehensive(options, cap_s=5)
    names = [s.name for s in report.steps]
    assert names == ['hook_before[0]', 'teardown', 'dds_shm', 'run_shm', 'python_memory',
                     'drop_caches',
                     'gpu_reset',
                     'hook_after[0]', 'hook_after[1]']
    status = {s.name: s.status for s in report.steps}
    assert status['hook_before[0]'] == 'failed' and status['python_memory'] == 'ok'
    assert status['hook_after[0]'] == 'ok' and marker.exists()
    assert status['hook_after[1]'] == 'failed'  # timed out
    assert not report.success
    assert report.message.startswith('comprehensive failed in ')
    assert 'hook_before[0] failed (exit 4)' in report.message
    assert 'hook_after[1] failed (timed out)' in report.message


def test_teardown_counts_from_the_step_data():
    step = StepResult('teardown', 'ok', 'stopped 4', 0.1, {'stopped': 4, 'left': 0})
    report = plans.quick(CleanupOptions(teardown=lambda: step), cap_s=2)
    assert (report.processes_stopped, report.processes_left) == (4, 0)
    assert 'stopped 4 processes (0 left)' in report.message


def test_real_teardown_of_a_tagged_child():
    tag = f'expclean-test-plans-{uuid.uuid4().hex}'
    env = dict(os.environ, EXPCLEAN_RUN_ID=tag)
    child = subprocess.Popen(['sleep', '60'], env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_execed(child.pid, 'sleep 60'), 'the tagged child never ran'
        options = CleanupOptions(allow_system_caches=False,
                                 teardown=functools.partial(teardown_step, Selection(tag=tag)))
        report = plans.quick(options, cap_s=5)
        assert report.steps[0].name == 'teardown' and report.steps[0].status == 'ok'
        assert (report.processes_stopped, report.processes_left) == (1, 0)
        assert child.wait(5) is not None
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(10)


@pytest.mark.parametrize('kwargs, rule', [
    ({'hooks_before': 'rm -rf /tmp/x'}, 'sequence of shell commands'),
    ({'hooks_after': ('ok', '')}, 'non-empty strings'),
    ({'hook_timeout_s': 0}, r'hook_timeout_s must be a finite number of seconds > 0'),
    ({'settle_window_s': -1}, 'settle_window_s'),
    ({'settle_tolerance_bytes': True}, 'settle_tolerance_bytes'),
    ({'teardown': 'not callable'}, 'teardown must be a callable'),
])
def test_options_validated(kwargs, rule):
    with pytest.raises(ValueError, match=rule):
        CleanupOptions(**kwargs)


def test_options_turn_lists_into_tuples_and_settle_false_sleeps():
    options = CleanupOptions(hooks_before=['true'], settle=False, allow_system_caches=False)
    assert options.hooks_before == ('true',)
    start = time.monotonic()
    report = plans.quick(options, cap_s=0.2)
    assert time.monotonic() - start >= 0.2 and report.settle.samples == 0
    with pytest.raises(ValueError, match='cap_s'):
        plans.quick(options, cap_s=-1)


def test_dds_shm_step_can_be_turned_off():
    report = plans.quick(CleanupOptions(dds_shm_cleanup=False), cap_s=5)
    assert [s.name for s in report.steps] == ['teardown', 'run_shm', 'python_memory']


def test_shm_steps_can_be_turned_off():
    report = plans.quick(CleanupOptions(dds_shm_cleanup=False, shm_cleanup=False), cap_s=5)
    assert [s.name for s in report.steps] == ['teardown', 'python_memory']
