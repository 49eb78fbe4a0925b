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
The drop-in tags what an experiment loop starts, and ends each run as ``expclean run`` does.

Each loop runs in a child Python process (``helpers/dropin_loop.py``): importing
``cleanup_utils`` changes ``os.environ``, never the test runner's here.
"""

import json
import os
import re
import signal
import subprocess
import sys

import pytest
from helpers import rosproc
from helpers.cli import expclean
from helpers.dropin_loop import HERE as HELPERS
from helpers.proctree import environ_var

from expclean_ros.core.procs import proctable
from expclean_ros.core.procs.selection import DEFAULT_TAG_VARIABLE, RUN_TAG_FORMAT
from expclean_ros.core.report.fields import run_view
from expclean_ros.core.runs.ledger import read_ledger
from expclean_ros.core.runs.tagged_start import new_run_id

LOOP = os.path.join(HELPERS, 'dropin_loop.py')
RUNS = 3


def report_json(ledger):
    done = expclean('report', ledger, '--json')
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _stop_tagged(pid, tag):
    """SIGKILL ``pid`` if it still runs and carries ``tag`` (a helper a failed test left)."""
    if environ_var(pid, DEFAULT_TAG_VARIABLE, 0.5) == (proctable.ENV_OK, tag):
        os.kill(pid, signal.SIGKILL)


def _loop(tmp_path, mode, env=None, ledger=None):
    """Run the loop of RUNS runs in a child; return what it wrote."""
    out = tmp_path / 'loop.json'
    env = dict(os.environ if env is None else env, ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST')
    env.setdefault(DEFAULT_TAG_VARIABLE, '')
    if not env[DEFAULT_TAG_VARIABLE]:
        del env[DEFAULT_TAG_VARIABLE]
    cmd = [sys.executable, LOOP, 'loop', str(out), str(RUNS), mode] + ([ledger] if ledger else [])
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)
    result = json.loads(out.read_text()) if out.exists() else {}
    for run in result.get('runs', ()):
        _stop_tagged(run['helper'], run['tag'])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return result


def _assert_every_run_ended(result, outer=None):
    """No helper left, loop never signalled; what it started before the import or kept lives."""
    assert len(result['runs']) == RUNS
    for run in result['runs']:
        assert run['helper_tag'] == ['ok', run['tag']], run  # the double-forked helper carries it
        assert not run['helper_alive'], run
        assert run['stopped'] >= 1, run
    assert result['signalled'] == []  # the loop itself was never signalled
    # started before the import: no tag, or the outer run's (it is spared)
    assert result['early_tag'] == ([proctable.ENV_UNSET, None] if outer is None
                                   else [proctable.ENV_OK, outer])
    assert result['keeper_tag'] == [proctable.ENV_UNSET, None]  # untagged_env()
    assert result['early_alive'] and result['keeper_alive']


def test_a_plain_loop_leaves_no_helper_and_spares_what_it_kept(tmp_path):
    ledger = str(tmp_path / 'runs.jsonl')
    result = _loop(tmp_path, 'plain', ledger=ledger)
    _assert_every_run_ended(result)
    tags = [run['tag'] for run in result['runs']]
    assert len(set(tags)) == RUNS and result['tag_after'] not in tags  # a fresh tag per run
    assert all(re.fullmatch(RUN_TAG_FORMAT, tag) for tag in tags)
    first = result['runs'][0]
    # the verdict line names the run's leftover: the file the decoy outside the run holds
    assert 'not back: /dev/shm +48.' in first['verdict'], first
    assert f'held by pid {first["decoy"]} (' in first['verdict'], first
    verdict = [line for line in first['printed'].splitlines() if 'verdict:' in line]
    assert verdict == [f'[cleanup] verdict: run {tags[0]}: {first["verdict"]}'], first['printed']
    assert 'run_teardown: ok' in first['printed'] and 'teardown: ok' in first['printed']
    assert 'was the last' in result['runs'][-1]['printed']  # the plan skipped, the run ended
    state = read_ledger(ledger)
    assert state.header['source'] == 'cleanup_utils' and not state.interrupted
    assert [state.finished[i]['run_id'] for i in range(RUNS)] == tags
    for i in range(RUNS):
        view = run_view(state.finished[i], ledger, state.header['host'])
        assert view.missing == (), view.missing
        assert state.finished[i]['teardown']['stopped'] >= 1
    assert state.finished[0]['verify']['line'] == first['verdict']
    got = report_json(ledger)  # what `expclean report` makes of it
    assert (got['summary']['runs'], got['summary']['ok']) == (RUNS, RUNS), got['summary']


def test_a_loop_inside_a_run_keeps_its_tag_and_spares_its_siblings(tmp_path):
    """
    A loop started by ``expclean run`` inherits the run's tag: it keeps it for every run.

    The outer run then still finds all the loop started; a sibling that carried the tag
    before the import (``sh -c 'sim & python loop.py'``) is spared, as the loop and its
    ancestors are.
    """
    outer = new_run_id()
    env = dict(os.environ, **{DEFAULT_TAG_VARIABLE: outer})
    sibling = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'], env=env)
    try:
        result = _loop(tmp_path, 'plain', env=env)
        _assert_every_run_ended(result, outer)
        assert {run['tag'] for run in result['runs']} == {outer}
        assert result['tag_after'] == outer
        assert sibling.poll() is None
    finally:
        sibling.kill()  # our own child, by its pid
        sibling.wait(10)


@pytest.mark.launch
@pytest.mark.skipif(bool(rosproc.missing_reason()), reason=rosproc.missing_reason() or 'x')
def test_a_ros2_launch_loop_leaves_no_helper(tmp_path):
    result = _loop(tmp_path, 'launch')
    _assert_every_run_ended(result)


EXPLICIT = '''
import os, subprocess, sys
from expclean_ros import cleanup_utils as cu
ledger, directory = sys.argv[1], sys.argv[2]
SLEEP = [sys.executable, '-c', 'import time; time.sleep(600)']
first = cu.current_tag()
with cu.run(ledger=ledger) as tag:
    inside = subprocess.Popen(SLEEP)
assert tag == first, (tag, first)
inside.wait(10)  # ended with its run
second = cu.current_tag()
assert second != first and os.environ['EXPCLEAN_RUN_ID'] == second
assert cu.start_run() == second  # the tag stays; the records are taken now
late = subprocess.Popen(SLEEP)
report = cu.end_run(verbose=False, ledger=ledger)
late.wait(10)
assert report.verification is not None and cu.last_run_end().run_id == second
third = cu.current_tag()
kept = subprocess.Popen(SLEEP)  # carries the third tag: bad input must not stop it
for bad in (lambda: cu.cleanup_between_runs(3, 3, verbose=False),
            lambda: cu.quick_cleanup(-1, False),
            lambda: cu.cleanup_between_runs(0, 3, verbose=False, ledger=directory)):
    try:
        bad()
    except ValueError as exc:
        print('refused:', exc)
    else:
        raise AssertionError('not refused')
assert kept.poll() is None and cu.current_tag() == third
kept.kill()
kept.wait(10)
print('explicit ok', first, second)
'''


def test_explicit_runs_and_bad_input_that_stops_nothing(tmp_path):
    ledger = str(tmp_path / 'explicit.jsonl')
    env = dict(os.environ)
    env.pop(DEFAULT_TAG_VARIABLE, None)
    proc = subprocess.run([sys.executable, '-c', EXPLICIT, ledger, str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    said = proc.stdout.splitlines()
    first, second = said[-1].split()[-2:]
    assert said[-1].startswith('explicit ok')
    refused = [line for line in said if line.startswith('refused:')]
    assert len(refused) == 3, said
    assert 'run_index must be < total_runs' in refused[0] and 'cap_s' in refused[1]
    assert 'is a directory' in refused[2]
    state = read_ledger(ledger)
    assert [state.finished[i]['run_id'] for i in sorted(state.finished)] == [first, second]
    assert all(r['teardown']['stopped'] == 1 for r in state.finished.values())


# A loop whose second run's node dies by SIGKILL (a crash): the daemon keeps listing it.
GHOST = '''
import json, os, signal, subprocess, sys, time
from expclean_ros import cleanup_utils as cu
ros2, name, out = sys.argv[1:4]
NODE = """
import os, signal, sys, time
import rclpy
rclpy.init()
node = rclpy.create_node(sys.argv[1])
while not os.path.exists(sys.argv[2]):
    rclpy.spin_once(node, timeout_sec=0.05)
os.kill(os.getpid(), signal.SIGKILL)
"""
def listed():
    done = subprocess.run([ros2, 'node', 'list'], capture_output=True, text=True, timeout=60,
                          env=cu.untagged_env())
    return done.stdout.split()
cu.cleanup_between_runs(0, 2, comprehensive=False, wait_time=0, verbose=False)
go = out + '.go'
node = subprocess.Popen([sys.executable, '-c', NODE, name, go])  # tagged: run 2
deadline = time.monotonic() + 60
while '/' + name not in listed() and time.monotonic() < deadline:
    time.sleep(0.2)
open(go, 'w').close()
node.wait(30)
cu.cleanup_between_runs(1, 2, verbose=False)
step = [s for s in cu.last_run_end().steps if s.name == 'ros2_daemon'][0]
with open(out, 'w') as f:
    json.dump({'status': step.status, 'data': step.data, 'code': node.returncode}, f)
'''


@pytest.mark.skipif(bool(rosproc.missing_reason()), reason=rosproc.missing_reason() or 'x')
def test_a_runs_ghost_node_restarts_the_daemon(tmp_path):
    env = dict(os.environ, ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST')
    env.pop(DEFAULT_TAG_VARIABLE, None)
    ros2 = rosproc.ros2()
    name = f'dropin_ghost_{os.getpid()}'
    subprocess.run([ros2, 'daemon', 'start'], env=env, capture_output=True, timeout=60,
                   stdin=subprocess.DEVNULL)  # outside the runs
    out = str(tmp_path / 'ghost.json')
    try:
        proc = subprocess.run([sys.executable, '-c', GHOST, ros2, name, out], env=env,
                              capture_output=True, text=True, timeout=180,
                              stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        step = json.loads(open(out).read())
        assert step['code'] == -signal.SIGKILL  # it crashed: a ghost
        assert step['status'] == 'ok' and step['data']['restarted'], step
        assert f'/{name}' in step['data']['ghosts'], step
        listed = subprocess.run([ros2, 'node', 'list'], env=env, capture_output=True,
                                text=True, timeout=60, stdin=subprocess.DEVNULL).stdout
        assert f'/{name}' not in listed.split()  # a fresh daemon: live nodes only
    finally:
        rosproc.stop_daemon(env)


def test_figures_of_a_loop_reach_its_ledger_and_the_report(tmp_path):
    """``record_figures`` in a drop-in loop: the run's ledger line holds them; none, none."""
    ledger = tmp_path / 'runs.jsonl'
    code = ('from expclean_ros import cleanup_utils as cu\n'
            'for i, fps in enumerate((30.0, None, 29.5)):\n'
            '    if fps is not None:\n'
            '        cu.record_figures(fps=fps, latency_ms=10 + i)\n'
            '    cu.cleanup_between_runs(i, 3, comprehensive=False, wait_time=0,\n'
            f'                            verbose=False, ledger={str(ledger)!r})\n'
            'try:\n'
            "    cu.record_figures(fps=float('nan'))\n"
            'except ValueError as exc:\n'
            "    print('refused:', exc)\n")
    done = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert 'refused: figure fps must be a finite number' in done.stdout
    runs = [json.loads(line) for line in ledger.read_text().splitlines()]
    runs = [r for r in runs if r['type'] == 'run']
    assert [r.get('figures') for r in runs] == [{'fps': 30.0, 'latency_ms': 10.0}, None,
                                                {'fps': 29.5, 'latency_ms': 12.0}]
    report = expclean('report', str(ledger), '--json')
    assert report.returncode == 0, report.stderr
    assert 'fps' in report.stdout and 'latency_ms' in report.stdout
