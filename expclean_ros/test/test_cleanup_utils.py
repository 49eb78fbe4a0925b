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

"""The original script's cleanup_utils as a drop-in: same eleven names and signatures, safe."""

import inspect
import os
import subprocess
import sys
import time

import pytest

from expclean_ros import cleanup_utils as cu
from expclean_ros.core.cleanup.plans import CleanupReport

# Importing cleanup_utils tags this process's children as the loop's run: the test runner
# must not tag what its other tests start (test_cleanup_utils_tags.py tests the tagging).
cu.stop_tagging()

SEED_SIGNATURES = {
    'clear_gpu': [], 'clear_gpu_memory': [], 'clear_python_memory': [],
    'clear_system_cache': [], 'kill_ros2_processes': [], 'kill_python_experiment_processes': [],
    'force_kill_processes': [], 'get_memory_usage': [],
    'comprehensive_cleanup': [('wait_time', 10), ('verbose', True)],
    'quick_cleanup': [('wait_time', 5), ('verbose', True)],
    # The original script documents run_index and total_runs without defaults, and calls it
    # without them in its Customization section: None = not the last run.
    'cleanup_between_runs': [('run_index', None), ('total_runs', None),
                             ('comprehensive', True), ('wait_time', None), ('verbose', True)],
}
PY = sys.executable


@pytest.mark.parametrize('name', sorted(SEED_SIGNATURES))
def test_seed_signature(name):
    params = inspect.signature(getattr(cu, name)).parameters.values()
    positional = [(p.name, p.default) for p in params
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    assert positional == SEED_SIGNATURES[name]
    extra = [p for p in params if p.kind == p.KEYWORD_ONLY]
    assert all(p.default is not inspect.Parameter.empty for p in extra)


def test_single_steps_callable_and_verbose(capsys):
    assert cu.clear_gpu() is True
    assert cu.clear_python_memory() is True
    assert cu.clear_gpu_memory() is True  # reset skipped (not allowed), cache cleared
    assert cu.clear_system_cache() is (os.geteuid() == 0)
    out = capsys.readouterr().out
    assert 'python_memory: ok' in out and 'gpu_reset: skipped' in out
    assert 'drop_caches:' in out


def test_get_memory_usage_returns_a_dict(capsys):
    usage = cu.get_memory_usage()
    assert usage['ram_total_bytes'] > 0 and 'gpus' in usage and 'gpu_status' in usage
    assert 'memory: RAM ' in capsys.readouterr().out
    cu.get_memory_usage(verbose=False)
    assert capsys.readouterr().out == ''


def test_plans_with_seed_signatures(capsys):
    report = cu.comprehensive_cleanup(1, False)  # wait_time is the settling cap
    assert isinstance(report, CleanupReport) and report.plan == 'comprehensive'
    assert capsys.readouterr().out == ''
    report = cu.quick_cleanup(wait_time=1, verbose=True)
    assert report.plan == 'quick' and report.success
    out = capsys.readouterr().out
    for text in ('--- quick cleanup ---', 'memory before: RAM', 'teardown: ok',
                 'python_memory: ok', 'memory after:  RAM', 'done: quick ok in'):
        assert text in out
    report = cu.cleanup_between_runs(0, 3, True, 0.1, True)  # explicit: fixed sleep
    assert report.settle.samples == 0 and not report.skipped
    report = cu.cleanup_between_runs(2, 3)
    assert report.skipped and 'was the last' in capsys.readouterr().out
    with pytest.raises(ValueError, match='run_index must be < total_runs'):
        cu.cleanup_between_runs(3, 3)
    start = time.monotonic()
    report = cu.quick_cleanup(0.2, False, settle=False)
    assert time.monotonic() - start >= 0.2 and report.settle.samples == 0


@pytest.fixture
def spawn(tmp_path):
    """Start sleepers whose command line carries ``words``, on a given ROS domain."""
    procs = []

    def start(words, domain, ignore=False):
        code = ('import signal, sys, time\n'
                + ('signal.signal(signal.SIGINT, signal.SIG_IGN)\n'
                   'signal.signal(signal.SIGTERM, signal.SIG_IGN)\n' if ignore else '')
                + f'open({str(tmp_path / "ready")!r} + str(len(sys.argv)), "w").close()\n'
                'time.sleep(120)\n')
        env = dict(os.environ, ROS_DOMAIN_ID=str(domain))
        p = subprocess.Popen([PY, '-c', code, *words], env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(p)
        deadline = time.monotonic() + 30
        while not (tmp_path / f'ready{len(words) + 1}').exists():
            assert time.monotonic() < deadline, 'sleeper did not start'
            time.sleep(0.02)
        (tmp_path / f'ready{len(words) + 1}').unlink()
        return p
    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()  # our own children, by pid
        p.wait(10)


def _domain():
    domain = os.environ.get('ROS_DOMAIN_ID', '')
    if not domain.isdigit() or domain == '0':
        pytest.skip('needs a test ROS_DOMAIN_ID other than 0 so patterns reach only our processes')
    return int(domain)


def test_kill_ros2_processes_stops_ours_only(spawn):
    ours = _domain()
    other = 101 if ours != 101 else 100
    launch = spawn(['ros2', 'launch', 'fake_pkg', 'fake.launch.py'], ours)
    node = spawn(['--ros-args', '-r', '__node:=fake'], ours)
    decoy_domain = spawn(['ros2', 'launch', 'fake_pkg', 'x.launch.py'], other)
    decoy_name = spawn(['myros2', 'launcher'], ours)
    assert cu.kill_ros2_processes(verbose=False) is True
    assert launch.wait(10) is not None and node.wait(10) is not None
    assert decoy_domain.poll() is None and decoy_name.poll() is None


def test_kill_python_experiment_processes(spawn):
    ours = _domain()
    script = spawn(['/data/exp/ms_test.py', '--row', '3'], ours)
    bag = spawn(['bag_test.py'], ours)
    decoy = spawn(['ms_test.py.bak'], ours)
    assert cu.kill_python_experiment_processes(verbose=False) is True
    assert script.wait(10) is not None and bag.wait(10) is not None
    assert decoy.poll() is None


def test_force_kill_processes_reaches_signal_ignorers(spawn, capsys):
    stubborn = spawn(['ros2', 'bag', 'play', 'x'], _domain(), ignore=True)
    assert cu.force_kill_processes() is True
    # It ignores SIGINT and SIGTERM: only SIGKILL ends it (the engine may reap it).
    stubborn.wait(10)
    assert not os.path.exists(f'/proc/{stubborn.pid}')
    assert 'stopped 1 process (0 left)' in capsys.readouterr().out


def test_the_seeds_customization_examples_run_as_written(capsys):
    """
    The original cleanup_utils module's README, section Customization.

    The three calls, exactly as written.
    """
    import threading
    fixed = {}
    waiter = threading.Thread(target=lambda: fixed.update(
        report=cu.cleanup_between_runs(wait_time=15)))  # Custom wait time
    waiter.start()  # a fixed 15 s sleep: the other two run meanwhile
    quick = cu.cleanup_between_runs(comprehensive=False)  # Quick cleanup
    silent = cu.cleanup_between_runs(verbose=False)  # Silent mode
    waiter.join(120)
    assert not waiter.is_alive()
    report = fixed['report']
    assert report.plan == 'comprehensive' and not report.skipped
    assert report.settle.samples == 0 and report.settle.seconds >= 15 - 0.1, report.settle
    assert quick.plan == 'quick' and not quick.skipped and quick.settle.samples > 0
    assert silent.plan == 'comprehensive' and not silent.skipped
    out = capsys.readouterr().out
    assert '--- quick cleanup ---' in out and out.count('--- comprehensive cleanup ---') == 1


def test_between_runs_without_an_index_still_checks_what_is_given():
    with pytest.raises(ValueError, match='total_runs'):
        cu.cleanup_between_runs(total_runs=0, verbose=False)
    with pytest.raises(ValueError, match='run_index'):
        cu.cleanup_between_runs(run_index=-1, verbose=False)


def test_a_cleanup_says_not_back_when_shm_stays_above_the_previous_cleanup(made):
    from helpers.shmscene import Proc, token, write

    from expclean_ros.core.cleanup.plans import CleanupOptions
    from expclean_ros.core.memory.shm_root import shm_root
    paths, procs = made
    quiet = CleanupOptions(settle=False)  # nothing torn down: only the comparison is tested
    assert cu.quick_cleanup(0, False, options=quiet).success  # the level to compare with
    held = write(f'{shm_root()}/psm_{token()}', 48 * 2**20)
    paths.append(held)
    holder = Proc(held, 'open')
    procs.append(holder)
    report = cu.quick_cleanup(0, False, options=quiet)
    assert report.success and not report.clean, report.message
    assert 'not back: /dev/shm +48.' in report.message, report.message
    assert 'above the level at the previous cleanup' in report.message
    assert f'held by pid {holder.pid} (' in report.message
    holder.stop()
    os.unlink(held)
    paths.remove(held)
    again = cu.cleanup_between_runs(0, 3, comprehensive=False, verbose=False,
                                    options=CleanupOptions(settle=False))
    assert again.clean and 'back at the level at the previous cleanup' in again.message
