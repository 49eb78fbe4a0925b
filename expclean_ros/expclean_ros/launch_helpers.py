"""Launch-file helpers: the cleanup node, run tags, and teardown/cleanup when an action exits.

``launch`` and ``launch_ros`` are imported inside the helpers only, so this
module imports (and its core logic is tested) where they are not installed.
The rules underneath live in :mod:`expclean_ros.core.runtag`.

A complete example is ``launch/experiment_with_cleanup.launch.py``.
"""

import dataclasses
import json
import logging
import re
import sys
from typing import List, Mapping, Optional, Sequence, Tuple

from expclean_ros.core import runtag
from expclean_ros.core.selection import DEFAULT_TAG_VARIABLE
from expclean_ros.core.teardown import teardown as _teardown

__all__ = ['cleanup_node', 'run_tag', 'tagged_process', 'on_exit_cleanup',
           'on_shutdown_snapshot', 'cleanup_node_protect', 'LAUNCH_MISSING']

_log = logging.getLogger(__name__)

LAUNCH_MISSING = 'launch/launch_ros not installed (not on the package index)'


def _launch():
    try:
        import launch
        import launch.actions
        import launch.event_handlers
        import launch.events
    except ImportError as exc:
        raise ImportError(f'{LAUNCH_MISSING}: install ROS 2 (source /opt/ros/<distro>/'
                          f'setup.bash) to use expclean_ros.launch_helpers ({exc})') from None
    return launch


def cleanup_node(*, namespace: str = '', name: str = 'cleanup',
                 params_file: Optional[str] = None,
                 parameters: Optional[Mapping[str, object]] = None,
                 output: str = 'screen', **node_kwargs):
    """The cleanup node as a ``launch_ros.actions.Node``.

    Example::

        from expclean_ros.launch_helpers import cleanup_node
        ld = LaunchDescription([cleanup_node(namespace='robot1',
                                             parameters={'publish_rate': 2.0})])

    :param params_file: a YAML parameters file (e.g. the package's ``config/cleanup.yaml``).
    :param parameters: parameter values, applied after ``params_file``.
    """
    _launch()
    try:
        from launch_ros.actions import Node
    except ImportError as exc:
        raise ImportError(f'{LAUNCH_MISSING} ({exc})') from None
    params: List[object] = []
    if params_file:
        params.append(params_file)
    if parameters:
        params.append(dict(parameters))
    return Node(package='expclean_ros', executable='cleanup_node', name=name,
                namespace=namespace, parameters=params, output=output, **node_kwargs)


def run_tag(run_id: Optional[str] = None,
            tag_variable: str = DEFAULT_TAG_VARIABLE) -> Tuple[str, list]:
    """``(run_id, actions)``: the run tag, and actions that put it in the launch environment.

    Every process launched after these actions inherits the tag, so the
    teardown engine finds it even when re-parented after launch died. An
    inherited tag (a launch started by ``expclean run``) is kept.

    Example::

        run_id, tag_actions = run_tag()
        ld = LaunchDescription([*tag_actions, experiment, cleanup_node()])
    """
    launch = _launch()
    run_id = run_id or runtag.launch_run_id(tag_variable=tag_variable)
    env = runtag.tag_environment(run_id, tag_variable)
    return run_id, [launch.actions.SetEnvironmentVariable(name=k, value=v)
                    for k, v in env.items()]


def tagged_process(cmd: Sequence[str], run_id: str, *, tag_variable: str = DEFAULT_TAG_VARIABLE,
                   name: Optional[str] = None, output: str = 'screen', **kwargs):
    """An ``ExecuteProcess`` carrying the run tag in its own environment.

    Example::

        run_id, _ = run_tag()
        experiment = tagged_process(['ros2', 'bag', 'play', 'a.db3'], run_id, name='play')
    """
    launch = _launch()
    env = dict(kwargs.pop('additional_env', None) or {})
    env.update(runtag.tag_environment(run_id, tag_variable))
    return launch.actions.ExecuteProcess(cmd=list(cmd), name=name, output=output,
                                         additional_env=env, **kwargs)


def cleanup_node_protect(node_prefix: str = '/cleanup') -> str:
    """A protect pattern for the command line launch_ros gives the node at ``node_prefix``.

    A launch started by ``expclean run`` inherits the run tag, so the cleanup
    node carries it too; the teardown after the experiment must spare it, or
    the cleanup call that follows finds no node.

    >>> bool(re.search(cleanup_node_protect('/robot1/cleanup'), '/x/lib/expclean_ros/cleanup_node '
    ...      '--ros-args -r __node:=cleanup -r __ns:=/robot1 --params-file a.yaml'))
    True
    >>> bool(re.search(cleanup_node_protect('/cleanup'), '/x/lib/expclean_ros/cleanup_node '
    ...      '--ros-args -r __node:=cleanup -r __ns:=/robot1'))
    False
    """
    ns, _, node = node_prefix.strip('/').rpartition('/')
    if not node:
        raise ValueError('node_prefix must name the node, e.g. /robot1/cleanup, '
                         f'got {node_prefix!r}')
    return (r'(^|/)cleanup_node\s(?=.*\s__node:=' + re.escape(node) + r'(\s|$))'
            r'(?=.*\s__ns:=/' + re.escape(ns) + r'(\s|$))')


def on_exit_cleanup(target_action, run_id: str, *, tag_variable: str = DEFAULT_TAG_VARIABLE,
                    teardown: bool = True, cleanup: Optional[str] = 'comprehensive',
                    node_prefix: str = '/cleanup', shutdown: bool = True,
                    timeouts: Tuple[float, float, float] = (2.0, 2.0, 1.0),
                    expclean=None):
    """When ``target_action`` exits: tear down its tag, ask the node to clean up, shut down.

    The teardown runs in the launch process through the core engine (a few
    seconds at most) and spares the cleanup node at ``node_prefix`` (an
    inherited tag reaches it too, see :func:`cleanup_node_protect`); the
    cleanup is ``expclean call PLAN`` on that node, started as a process so
    launch's event loop keeps running; launch shuts down once that call has
    returned. On Ctrl-C the teardown still runs, the cleanup call does not
    (launch starts no process while shutting down).

    Example::

        experiment = tagged_process(['python3', 'exp.py'], run_id, name='experiment')
        ld = LaunchDescription([experiment, cleanup_node(),
                                on_exit_cleanup(experiment, run_id)])

    :param cleanup: ``'comprehensive'``, ``'quick'`` or None (no cleanup call).
    :param expclean: the command (a string or an argv list) that runs the CLI;
        default ``python -m expclean_ros.cli``
        with launch's own interpreter (a colcon install puts ``expclean`` in
        ``lib/expclean_ros``, not on ``PATH``).
    """
    launch = _launch()
    if cleanup not in ('comprehensive', 'quick', None):
        raise ValueError(f"cleanup must be 'comprehensive', 'quick' or None, got {cleanup!r}")
    cli = [expclean] if isinstance(expclean, str) else list(
        expclean or (sys.executable, '-m', 'expclean_ros.cli'))
    selection = runtag.tag_selection(run_id, tag_variable)
    selection = dataclasses.replace(
        selection, protect=selection.protect + (cleanup_node_protect(node_prefix),))

    def handle(event, context):
        actions = []
        if teardown:
            result = _teardown(selection, *timeouts)
            actions.append(launch.actions.LogInfo(
                msg=f'{event.action.name} exited with {event.returncode}; run {run_id}: '
                    f'{result.summary()}'))
        shut = [launch.actions.EmitEvent(event=launch.events.Shutdown(
            reason=f'{event.action.name} exited'))] if shutdown else []
        if cleanup:
            call = launch.actions.ExecuteProcess(
                cmd=[*cli, 'call', '/' + node_prefix.strip('/'), cleanup],
                name=f'expclean_{cleanup}', output='screen')
            actions.append(call)
            if shut:
                actions.append(launch.actions.RegisterEventHandler(
                    launch.event_handlers.OnProcessExit(target_action=call, on_exit=shut)))
        else:
            actions += shut
        return actions

    return launch.actions.RegisterEventHandler(
        launch.event_handlers.OnProcessExit(target_action=target_action, on_exit=handle))


def on_shutdown_snapshot(run_id: str, *, tag_variable: str = DEFAULT_TAG_VARIABLE,
                         path: Optional[str] = None):
    """On launch shutdown, log (and optionally write as JSON) the run's tagged processes.

    Taken while their parents still live, so the tree is complete: a later
    teardown or a post-mortem can compare against it.

    Example::

        ld.add_action(on_shutdown_snapshot(run_id, path='/tmp/run-tree.json'))
    """
    launch = _launch()

    def handle(event, context):
        tree = runtag.tagged_tree(run_id, tag_variable)
        lines = [f'run {run_id} at shutdown: {len(tree)} tagged processes']
        lines += [f'  {c.pid} (ppid {c.ppid}) {c.cmdline[:120]}' for c in tree]
        if path:
            with open(path, 'w') as f:
                json.dump({'run_id': run_id, 'processes': [c.as_dict() for c in tree]}, f)
        return [launch.actions.LogInfo(msg='\n'.join(lines))]

    return launch.actions.RegisterEventHandler(
        launch.event_handlers.OnShutdown(on_shutdown=handle))
