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
Launch-file helpers from before the launch actions: thin wrappers over them.

New launch files use :mod:`expclean_ros.launch_actions` directly (Python, XML
or YAML). ``launch`` and ``launch_ros`` are imported inside the helpers only,
so this module imports where they are not installed.
"""

import logging
from typing import Optional, Sequence, Tuple

from expclean_ros.core.runs.run_tag import launch_run_id, tag_environment
from expclean_ros.core.procs.escalation import DEFAULT_STOP_TIMEOUTS_S
from expclean_ros.core.procs.selection import DEFAULT_TAG_VARIABLE

__all__ = ['cleanup_node', 'run_tag', 'tagged_process', 'on_exit_cleanup', 'LAUNCH_MISSING']

_log = logging.getLogger(__name__)

LAUNCH_MISSING = 'launch/launch_ros not installed (not on the package index)'


def _actions():
    from expclean_ros import launch_actions  # says what to install where launch is missing
    return launch_actions


def cleanup_node(**kwargs):
    """
    Return the cleanup node.

    :class:`expclean_ros.launch_actions.CleanupNodeAction` (same arguments).
    """
    return _actions().CleanupNodeAction(**kwargs)


def run_tag(run_id: Optional[str] = None,
            tag_variable: str = DEFAULT_TAG_VARIABLE) -> Tuple[str, list]:
    """``(run_id, [RunTag])``: the tag chosen now (inherited, else fresh) and its action."""
    actions = _actions()
    run_id = run_id or launch_run_id(tag_variable=tag_variable)
    return run_id, [actions.RunTag(run_id=run_id, tag_variable=tag_variable)]


def tagged_process(cmd: Sequence[str], run_id: str, *, tag_variable: str = DEFAULT_TAG_VARIABLE,
                   name: Optional[str] = None, output: str = 'screen', **kwargs):
    """Return an ``ExecuteProcess`` carrying the run tag in its own environment."""
    _actions()
    from launch.actions import ExecuteProcess
    env = dict(kwargs.pop('additional_env', None) or {})
    env.update(tag_environment(run_id, tag_variable))
    return ExecuteProcess(cmd=list(cmd), name=name, output=output, additional_env=env, **kwargs)


def on_exit_cleanup(target_action, run_id: str, *, tag_variable: str = DEFAULT_TAG_VARIABLE,
                    cleanup: Optional[str] = 'comprehensive', node: str = '/cleanup',
                    shutdown: bool = True,
                    timeouts: Tuple[float, float, float] = DEFAULT_STOP_TIMEOUTS_S):
    """
    When ``target_action`` exits.

    A :class:`~expclean_ros.launch_actions.Teardown` of the tag with the ``cleanup`` call on
    ``node``, then (``shutdown``) launch's shutdown.
    """
    actions = _actions()
    from launch.actions import EmitEvent, RegisterEventHandler
    from launch.event_handler import EventHandler
    from launch.event_handlers import OnProcessExit
    from launch.events import Shutdown
    then = []
    if shutdown:
        then.append(RegisterEventHandler(EventHandler(
            matcher=lambda event: (isinstance(event, actions.TeardownDone)
                                   and event.run_id == run_id),
            entities=EmitEvent(event=Shutdown(reason='experiment done')))))
    then.append(actions.Teardown(
        run_id=run_id, tag_variable=tag_variable, cleanup=cleanup or 'none', cleanup_node=node,
        sigint_timeout=str(timeouts[0]), sigterm_timeout=str(timeouts[1]),
        sigkill_timeout=str(timeouts[2])))
    return RegisterEventHandler(OnProcessExit(target_action=target_action, on_exit=then))
