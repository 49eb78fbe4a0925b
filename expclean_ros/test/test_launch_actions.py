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
Launch actions: the run-tag rules on real processes.

The actions under a real LaunchService; every shipped launch file parsed by its front end (Python,
XML, YAML).
"""

import os
import signal
import subprocess
import sys

import pytest

from helpers.nodes import reap_tagged, wait_for
from helpers.paths import PACKAGE_ROOT
from helpers.proctree import leaker
from expclean_ros.core.procs.teardown import teardown
from expclean_ros.core.runs import run_tag as runtag
from helpers.launching import needs_launch

LAUNCH_DIR = os.path.join(PACKAGE_ROOT, 'launch')
pytestmark = pytest.mark.launch

TREE = leaker(1000)  # a parent, its child and a double-forked orphan


def test_inherited_tag_is_kept_and_bad_tags_refused():
    assert runtag.launch_run_id({'EXPCLEAN_RUN_ID': ' run-x '}) == 'run-x'
    assert runtag.launch_run_id({'MY_TAG': 'a'}, 'MY_TAG') == 'a'
    assert runtag.launch_run_id({}) != runtag.launch_run_id({})
    with pytest.raises(ValueError):
        runtag.tag_environment('')
    with pytest.raises(ValueError):
        runtag.tag_environment('run-1', 'BAD=NAME')


def test_tagged_tree_then_stop_finds_orphans_after_the_parent_died():
    run_id = runtag.launch_run_id({})
    env = dict(os.environ, **runtag.tag_environment(run_id))
    parent = subprocess.Popen([sys.executable, '-c', TREE], env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        assert wait_for(lambda: {'sleep 1000', 'sleep 1001'} <= {
            c.cmdline for c in runtag.tagged_tree(run_id)}, 20)
        tree = runtag.tagged_tree(run_id)
        assert parent.pid in {c.pid for c in tree}
        parent.kill()  # launch's view: the parent died, its children live on
        parent.wait(10)
        left = runtag.tagged_tree(run_id)
        assert len(left) >= 2 and parent.pid not in {c.pid for c in left}
        result = teardown(runtag.tag_selection(run_id), 1.0, 1.0, 1.0)
        assert result.stopped >= 2 and not result.left
        assert runtag.tagged_tree(run_id) == ()
    finally:
        reap_tagged(parent, run_id)


def test_package_imports_without_launch_and_the_actions_say_why():
    code = ('import sys; sys.modules["launch"] = None; sys.modules["launch_ros"] = None\n'
            'import expclean_ros.ros.node, expclean_ros.cli\n'
            'try:\n    import expclean_ros.launch_actions\nexcept ImportError as exc:\n'
            '    assert "not on the package index" in str(exc), exc\n'
            '    print("ok")\n')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == 'ok', out.stdout + out.stderr


@needs_launch
@pytest.mark.parametrize('name', sorted(f for f in os.listdir(LAUNCH_DIR)
                                        if f.endswith(('.launch.py', '.launch.xml',
                                                       '.launch.yaml'))))
def test_shipped_launch_file_is_read_by_its_front_end(name):
    from launch.launch_description_sources import AnyLaunchDescriptionSource
    from launch import LaunchContext
    from launch.actions import IncludeLaunchDescription
    context = LaunchContext()

    def kinds(source):  # the actions of a file and of the files it includes by a fixed path
        found = set()
        for entity in source.get_launch_description(context).describe_sub_entities():
            found.add(type(entity).__name__)
            if isinstance(entity, IncludeLaunchDescription):
                found |= kinds(entity.launch_description_source)
        return found

    found = kinds(AnyLaunchDescriptionSource(os.path.join(LAUNCH_DIR, name)))
    assert 'CleanupNodeAction' in found, found  # the expclean_* tags are registered (XML/YAML)


@needs_launch
def test_bad_arguments_get_clear_errors():
    from expclean_ros.launch_actions.cleanup_call import check_plan, full_node_name
    with pytest.raises(ValueError, match="'quick' or 'comprehensive'"):
        check_plan('/cleanup', 'everything')
    with pytest.raises(ValueError, match='full node name'):
        check_plan('/robot 1/cleanup', 'quick')
    assert full_node_name('robot1//cleanup') == '/robot1/cleanup'


# the experiment: a child and a double-forked orphan, then it exits by itself
EXPERIMENT = leaker(1)


def _launch_service(setup, actions, after='', timeout_s=120):
    """
    Run a real LaunchService of ``actions`` in a subprocess in its own session.

    ``actions`` is the Python source of a list, run after the lines ``setup``; ``after`` runs
    once it has returned. Return (exit code, output); the session is killed if it outlives
    ``timeout_s``.
    """
    code = ('import os, sys, threading\n'
            f'sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})\n'
            'from launch import LaunchDescription, LaunchService\n'
            f'{setup}'
            'ls = LaunchService()\n'
            f'ls.include_launch_description(LaunchDescription({actions}))\n'
            'code = ls.run()\n'
            f'{after}'
            'sys.exit(code)\n')
    proc = subprocess.Popen([sys.executable, '-c', code], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout_s)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the session we created
            proc.wait(10)
    return proc.returncode, out


# on the experiment's exit: a Teardown of the tag, then launch's shutdown once it is done
ON_EXIT_TEARDOWN = (
    'from launch.actions import EmitEvent, ExecuteProcess, RegisterEventHandler\n'
    'from launch.event_handler import EventHandler\n'
    'from launch.event_handlers import OnProcessExit\n'
    'from launch.events import Shutdown\n'
    'from expclean_ros.launch_actions import RunTag, Teardown, TeardownDone\n'
    'def on_exit_teardown(exp, run_id):\n'
    '    done = RegisterEventHandler(EventHandler(\n'
    '        matcher=lambda e: isinstance(e, TeardownDone) and e.run_id == run_id,\n'
    '        entities=EmitEvent(event=Shutdown(reason="experiment done"))))\n'
    '    return RegisterEventHandler(OnProcessExit(target_action=exp, on_exit=[\n'
    '        done, Teardown(run_id=run_id, cleanup="none")]))\n')


@needs_launch
def test_on_exit_teardown_tears_down_the_tag_and_shuts_launch_down(tmp_path):
    """
    A real LaunchService in a subprocess.

    A Teardown on the experiment's exit stops the experiment's child and its orphan (tagged by
    the RunTag), then launch shuts down.
    """
    run_id = runtag.launch_run_id({})
    script = tmp_path / 'experiment.py'
    script.write_text(EXPERIMENT)
    try:
        code, out = _launch_service(
            ON_EXIT_TEARDOWN + f'run_id = {run_id!r}\n'
            f'exp = ExecuteProcess(cmd=[sys.executable, {str(script)!r}], name="exp", '
            'output="screen")\n',
            '[RunTag(run_id=run_id), exp, on_exit_teardown(exp, run_id)]', timeout_s=90)
    finally:
        for c in runtag.tagged_tree(run_id):
            os.kill(c.pid, signal.SIGKILL)
    assert code == 0, out
    assert 'tagged processes before teardown' in out and 'stopped 2 processes (0 left)' in out, out
    assert runtag.tagged_tree(run_id) == ()


@needs_launch
def test_cleanup_calls_close_their_client_before_launch_ends(tmp_path, start_node):
    """
    A CleanupCall, then at shutdown a Teardown's call, under a real LaunchService.

    Each answered once; when the service returns, the calls' worker thread has ended and the
    process holds no Fast DDS participant (no shared-memory lock) any more.
    """
    node = start_node()
    assert wait_for(lambda: 'ready' in node.log(), 60), node.log()
    code, out = _launch_service(
        'from expclean_ros.launch_actions import CleanupCall, RunTag, Teardown\n'
        'from helpers.dds_shm import held_lock_files\n',
        "[RunTag(), Teardown(on_shutdown='true', cleanup='quick'), CleanupCall(plan='quick')]",
        after=('for t in threading.enumerate():\n'
               "    if t.name == 'expclean_call':\n"
               '        t.join(60)\n'
               "print('threads:', sorted(t.name for t in threading.enumerate()))\n"
               "print('locks:', len(held_lock_files(os.getpid())))\n"))
    assert code == 0, out
    assert out.count('/cleanup quick: ok') == 2, out
    assert 'expclean_call' not in out.split('threads:')[1], out
    assert 'locks: 0' in out, out
    # no warning of the calls; the memory check after the teardown looks at the whole machine
    # (it says `not back` when another user's process started meanwhile): not this test's
    warnings = [line for line in out.splitlines() if 'WARN' in line and ': not back: ' not in line]
    assert not warnings, out


@needs_launch
def test_a_bad_cleanup_plan_is_refused_when_the_teardown_is_declared():
    """
    An on-shutdown Teardown checks its plan at once, before the experiment runs, not at shutdown.

    Launch reports the rule and ends (no teardown left pending).
    """
    code, out = _launch_service(
        'from launch.actions import ExecuteProcess\n'
        'from expclean_ros.launch_actions import RunTag, Teardown\n',
        "[RunTag(), Teardown(on_shutdown='true', cleanup='everything'), "
        "ExecuteProcess(cmd=['sleep', '600'])]")
    assert code == 1, out
    assert "cleanup plan must be 'quick' or 'comprehensive', got 'everything'" in out, out
    assert 'sleep' not in out, out  # refused before the experiment started


@needs_launch
@pytest.mark.parametrize('arguments, says', [
    ("on_shutdown='maybe'", "expclean_teardown on_shutdown must be true or false, got 'maybe'"),
    ("sigint_timeout='soon'", "expclean_teardown sigint_timeout must be a number, got 'soon'"),
])
def test_teardown_reads_its_typed_arguments_by_launch_rules(arguments, says):
    """
    Booleans and seconds are read as launch reads them (1/0 as on Jazzy, on Humble too).

    A value launch cannot read is refused, naming the argument and the rule.
    """
    code, out = _launch_service(
        'from expclean_ros.launch_actions import RunTag, Teardown\n',
        f"[RunTag(shm_cleanup='0', restart_daemon=False), Teardown({arguments})]")
    assert code == 1, out
    assert says in out, out
    code, out = _launch_service(
        'from expclean_ros.launch_actions import RunTag, Teardown\n',
        "[RunTag(shm_cleanup='0', restart_daemon=False), "
        "Teardown(on_shutdown='1', sigint_timeout=1), Teardown(on_shutdown=False)]")
    assert code == 0, out
    assert out.count('tagged processes before teardown') == 2, out


@needs_launch
def test_experiment_tag_takes_only_on_exit_shutdown(tmp_path):
    """
    <expclean_experiment> is launch's <executable> whose exit shuts launch down, on every distro.

    Another on_exit is refused with the rule.
    """
    from launch.launch_description_sources import AnyLaunchDescriptionSource
    from launch import LaunchContext
    from expclean_ros.launch_actions import Experiment
    path = tmp_path / 'exp.launch.xml'
    path.write_text('<launch><expclean_experiment cmd="true" name="e" on_exit="shutdown"/>'
                    '</launch>')
    entities = AnyLaunchDescriptionSource(str(path)).get_launch_description(
        LaunchContext()).entities
    assert isinstance(entities[0], Experiment), entities
    path.write_text('<launch><expclean_experiment cmd="true" on_exit="restart"/></launch>')
    with pytest.raises(Exception, match="on_exit must be 'shutdown'"):
        AnyLaunchDescriptionSource(str(path)).get_launch_description(LaunchContext())
