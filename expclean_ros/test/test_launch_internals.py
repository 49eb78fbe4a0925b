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
Every launch / launch_ros internal the launch actions rely on, pinned.

A launch upgrade that changes one fails here, naming it and what depends on it, not somewhere deep
in a launch test.

Internals (private, or documented nowhere): AsyncSafeSignalManager's name-mangled ``__current``
and ``handle`` (shutdown_signals.py); ``ExecuteLocal._shutdown_process(context, *, send_sigint)``
(CleanupNodeAction overrides it); ``context.locals.event`` during an event handler (Teardown's
``presignalled_by``, presignalled.py); launch globals read through ``context.locals``
(run_session.py: the LaunchSession that RunTag, Teardown and CleanupNodeAction share);
``Node.parse`` reading ``pkg`` and ``exec`` through ``Entity.get_attr`` (CleanupNodeAction's
parse); ``ExecuteProcess.parse(..., ignore=[...])`` (Experiment's parse).
That launch copies ``context.environment`` for the process inside ``execute`` (the node's
environment without the tag) is behaviour, proven by test_ros2_launch.py's wrapper test.
"""

import inspect
import subprocess
import sys

import pytest

from helpers import rosproc

pytestmark = [pytest.mark.launch,
              pytest.mark.skipif(bool(rosproc.launch_missing_reason()),
                                 reason=rosproc.launch_missing_reason())]


def _changed(what, used_by):
    return (f'launch changed {what}; {used_by} relies on it: adapt it to the new launch '
            '(and keep the older distros working)')


def test_signal_manager_current_and_handle():
    from launch.utilities.signal_management import AsyncSafeSignalManager
    used_by = 'expclean_ros/launch_actions/shutdown_signals.py (_quiet_launch_sigterm)'
    assert hasattr(AsyncSafeSignalManager, '_AsyncSafeSignalManager__current'), _changed(
        'AsyncSafeSignalManager.__current (the manager in use)', used_by)
    params = list(inspect.signature(AsyncSafeSignalManager.handle).parameters)
    assert params == ['self', 'signum', 'handler'], _changed(
        f'AsyncSafeSignalManager.handle(signum, handler), now {params}', used_by)
    # in use, the attribute is the manager (signals need the main thread: a fresh interpreter)
    code = ('import asyncio\n'
            'from launch.utilities.signal_management import AsyncSafeSignalManager as M\n'
            'loop = asyncio.new_event_loop()\n'
            'with M(loop) as manager:\n'
            '    print(getattr(M, "_AsyncSafeSignalManager__current") is manager)\n'
            'print(getattr(M, "_AsyncSafeSignalManager__current") is None)\n')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         timeout=60, stdin=subprocess.DEVNULL)
    assert out.stdout.split() == ['True', 'True'], _changed(
        'what AsyncSafeSignalManager.__current holds while a manager is in use',
        used_by) + f': {out.stdout}{out.stderr}'


def test_shutdown_process_override_point():
    from launch.actions import ExecuteProcess
    from launch_ros.actions import Node
    used_by = 'CleanupNodeAction._shutdown_process (the node outlives a pending teardown)'
    method = getattr(ExecuteProcess, '_shutdown_process', None)
    assert method is not None and getattr(Node, '_shutdown_process') is method, _changed(
        'ExecuteProcess._shutdown_process', used_by)
    params = inspect.signature(method).parameters
    assert list(params) == ['self', 'context', 'send_sigint'] and \
        params['send_sigint'].kind is inspect.Parameter.KEYWORD_ONLY, _changed(
            f'_shutdown_process(self, context, *, send_sigint), now {list(params)}', used_by)


def test_event_and_globals_in_context_locals():
    from launch import LaunchContext
    from launch.event_handler import EventHandler
    from launch.events import Shutdown
    context = LaunchContext(noninteractive=True)
    event = Shutdown(reason='test', due_to_sigint=True)
    EventHandler(matcher=lambda e: True, entities=[]).handle(event, context)
    assert getattr(context.locals, 'event', None) is event, _changed(
        "the event in context.locals.event while a handler's entities run",
        'Teardown (presignalled_by: which processes got a SIGINT at this shutdown)')
    assert event.due_to_sigint and context.noninteractive, _changed(
        'Shutdown.due_to_sigint or LaunchContext.noninteractive', 'Teardown (presignalled_by)')
    context.extend_globals({'expclean_probe': 1})
    context.extend_locals({'other': 2})
    assert getattr(context.locals, 'expclean_probe', None) == 1, _changed(
        'launch globals read through context.locals',
        'run_session.py (the LaunchSession RunTag, Teardown and CleanupNodeAction share)')


def test_node_parse_reads_pkg_and_exec_through_the_entity():
    import io
    from launch.frontend import Parser
    from expclean_ros.launch_actions import CleanupNodeAction
    xml = ('<launch><expclean_cleanup_node namespace="ns1">'
           '<param name="publish_rate" value="5.0"/><remap from="a" to="b"/>'
           '</expclean_cleanup_node></launch>')
    root, parser = Parser.load(io.StringIO(xml))
    action = parser.parse_description(root).entities[0]
    assert isinstance(action, CleanupNodeAction), type(action)
    assert (action.node_package, action.node_executable) == ('expclean_ros', 'cleanup_node'), \
        _changed("how launch_ros's Node.parse reads pkg and exec",
                 'CleanupNodeAction.parse (_FixedNodeEntity supplies them)')


def test_execute_process_parse_takes_ignore():
    from launch.actions import ExecuteProcess
    assert 'ignore' in inspect.signature(ExecuteProcess.parse).parameters, _changed(
        'ExecuteProcess.parse(entity, parser, ignore=...)', 'Experiment.parse (on_exit)')


def test_typed_substitution_helpers_exist():
    from launch.utilities import type_utils
    for name in ('perform_typed_substitution', 'normalize_typed_substitution',
                 'is_normalized_substitution'):
        assert callable(getattr(type_utils, name, None)), _changed(
            f'launch.utilities.type_utils.{name}', 'arguments.py, Teardown, RunTag')
