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


def _reap(proc, run_id):
    """Kill ``proc`` if alive, then every process carrying our fresh tag."""
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)
    for c in runtag.tagged_tree(run_id):
        os.kill(c.pid, 9)


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
        _reap(parent, run_id)


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


def _package_indexed():
    try:
        from ament_index_python.packages import get_package_prefix
        get_package_prefix('expclean_ros')
    except Exception:  # PackageNotFoundError, or no ament_index_python
        return False
    return True


# the experiment: a child and a double-forked orphan, then it exits by itself
EXPERIMENT = TREE.replace('time.sleep(1000)\n', 'time.sleep(1)\n')
# launch run by its Python API (ros2launch is a separate package); exit code = launch's
RUN_LAUNCH = ('import sys\n'
              'from launch import LaunchService\n'
              'from launch.actions import IncludeLaunchDescription\n'
              'from launch.launch_description_sources import PythonLaunchDescriptionSource\n'
              'ls = LaunchService()\n'
              'ls.include_launch_description(IncludeLaunchDescription(\n'
              '    PythonLaunchDescriptionSource(sys.argv[1]),\n'
              '    launch_arguments=[a.split(":=", 1) for a in sys.argv[2:]]))\n'
              'sys.exit(ls.run())\n')


@needs_launch
def test_experiment_exit_tears_down_its_tag_cleans_up_and_shuts_down(tmp_path):
    if not _package_indexed():
        pytest.skip('expclean_ros is not in the ament index (AMENT_PREFIX_PATH): '
                    'launch_ros cannot find the cleanup_node executable')
    # an inherited tag (as under `expclean run`) reaches the cleanup node too: it must survive
    run_id = runtag.launch_run_id({})
    namespace = '/t_' + run_id.replace('-', '_')
    env = dict(os.environ, **runtag.tag_environment(run_id))
    script = tmp_path / 'experiment.py'
    script.write_text(EXPERIMENT)
    log = tmp_path / 'launch.log'
    with open(log, 'w') as out:
        proc = subprocess.Popen(
            [sys.executable, '-c', RUN_LAUNCH, LAUNCH_FILE,
             f'experiment:={sys.executable} {script}', f'namespace:={namespace}'],
            env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
        try:
            code = proc.wait(90)
        finally:
            _reap(proc, run_id)
    text = log.read_text()
    assert code == 0, text
    assert 'experiment-2 exited with 0' in text and '(0 left)' in text, text
    assert 'stopped 2 processes' in text, text  # the child and the orphan, not the node
    assert 'comprehensive ok' in text, text      # the node answered after the teardown
    assert 'process has died' not in text and 'Traceback' not in text, text
    assert runtag.tagged_tree(run_id) == ()
