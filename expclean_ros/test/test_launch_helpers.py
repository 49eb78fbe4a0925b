"""Launch helpers: the run-tag rules on real processes; the launch actions where launch exists."""

import ast
import doctest
import importlib.util
import os
import subprocess
import sys

import pytest

from conftest import PACKAGE_ROOT, wait_for
from expclean_ros import launch_helpers
from expclean_ros.core import runtag

HAVE_LAUNCH = (importlib.util.find_spec('launch') is not None
               and importlib.util.find_spec('launch_ros') is not None)
needs_launch = pytest.mark.skipif(not HAVE_LAUNCH, reason=launch_helpers.LAUNCH_MISSING)
LAUNCH_FILE = os.path.join(PACKAGE_ROOT, 'launch', 'experiment_with_cleanup.launch.py')

# a parent with a child, plus a double-forked orphan in its own session; prints nothing
TREE = ('import os, time\n'
        'if os.fork() == 0:\n'
        '    os.execvp("sleep", ["sleep", "1000"])\n'
        'if os.fork() == 0:\n'
        '    os.setsid()\n'
        '    if os.fork() == 0:\n'
        '        os.execvp("sleep", ["sleep", "1001"])\n'
        '    os._exit(0)\n'
        'time.sleep(1000)\n')


def test_runtag_doctests():
    assert doctest.testmod(runtag).failed == 0


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
        result = runtag.stop_tagged(run_id, timeouts=(1.0, 1.0, 1.0))
        assert result.stopped >= 2 and not result.left
        assert runtag.tagged_tree(run_id) == ()
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)
        for c in runtag.tagged_tree(run_id):  # only processes carrying our fresh tag
            os.kill(c.pid, 9)


def test_helpers_module_imports_without_launch_and_says_why():
    assert 'launch' not in sys.modules or HAVE_LAUNCH
    if HAVE_LAUNCH:
        pytest.skip('launch is installed: the missing-launch message cannot be shown')
    for call in (lambda: launch_helpers.cleanup_node(), lambda: launch_helpers.run_tag(),
                 lambda: launch_helpers.tagged_process(['true'], 'run-1'),
                 lambda: launch_helpers.on_shutdown_snapshot('run-1')):
        with pytest.raises(ImportError, match='not on the package index'):
            call()


def test_launch_file_is_valid_python_using_the_helpers():
    tree = ast.parse(open(LAUNCH_FILE).read(), LAUNCH_FILE)
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
             and node.module == 'expclean_ros.launch_helpers' for alias in node.names}
    assert {'cleanup_node', 'on_exit_cleanup', 'run_tag', 'tagged_process'} <= names
    assert any(isinstance(n, ast.FunctionDef) and n.name == 'generate_launch_description'
               for n in tree.body)


@needs_launch
def test_actions_are_built():
    from launch.actions import ExecuteProcess, RegisterEventHandler, SetEnvironmentVariable
    run_id, actions = launch_helpers.run_tag('run-fixed')
    assert run_id == 'run-fixed' and isinstance(actions[0], SetEnvironmentVariable)
    proc = launch_helpers.tagged_process(['true'], run_id, name='exp')
    assert isinstance(proc, ExecuteProcess)
    assert isinstance(launch_helpers.on_exit_cleanup(proc, run_id), RegisterEventHandler)
    assert isinstance(launch_helpers.on_shutdown_snapshot(run_id), RegisterEventHandler)
    launch_helpers.cleanup_node(namespace='robot1', parameters={'publish_rate': 0.0})


@needs_launch
def test_launch_file_generates_a_description():
    spec = importlib.util.spec_from_file_location('experiment_launch', LAUNCH_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert len(module.generate_launch_description().entities) >= 5
