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

"""The CleanupNodeAction: the cleanup node, never carrying a run tag."""

import os
from typing import List, Mapping, Optional, Sequence, Union

from launch.actions import OpaqueFunction
from launch.event_handler import EventHandler
from launch.frontend import Entity, Parser, expose_action
from launch.launch_context import LaunchContext
from launch.some_substitutions_type import SomeSubstitutionsType
from launch.substitutions import LaunchConfiguration
from launch.utilities import normalize_to_list_of_substitutions
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue

from ..core.procs.selection import DEFAULT_TAG_VARIABLE
from .events import TeardownDone
from .run_session import LaunchSession
from .run_tag import CGROUP_CONFIG, RUN_ID_CONFIG, TAG_VARIABLE_CONFIG
from .shutdown_signals import handle_shutdown_signals

__all__ = ['CleanupNodeAction']
#: The launch configuration holding launch's pid for the node's ``launch.pid``.
LAUNCH_PID_CONFIG = 'expclean_launch_pid'
#: What launch_ros's ``<node>`` takes as ``pkg`` and ``exec``; fixed for this tag.
PACKAGE, EXECUTABLE = 'expclean_ros', 'cleanup_node'


@expose_action('expclean_cleanup_node')
class CleanupNodeAction(Node):
    """
    The expclean cleanup node as a ``launch_ros`` ``Node``.

    Its environment never holds the run tag (the tag variable is removed
    from what it inherits), so no teardown of the run ever selects it. It runs
    in a session of its own, so a Ctrl-C in the terminal does not reach it:
    launch stops it with one SIGINT, and while a
    :class:`~expclean_ros.launch_actions.Teardown` waits for shutdown, only
    once that teardown (and its cleanup call) is done. It never outlives
    launch: its parameters ``launch.pid``, ``launch.run_tag`` and
    ``launch.cgroup`` name this launch and its run, and should launch die by
    any signal (SIGKILL included), the node stops that run and exits.

    The launch action, not the rclpy node class
    (:class:`expclean_ros.ros.node.CleanupNode`).
    XML and YAML read it as launch_ros's ``<node>`` without ``pkg`` and ``exec``
    (``<param>``, ``<remap>``, ``<env>``, ``args``, ``ros_args`` included), plus
    ``params_file`` and ``tag_variable``:
    ``<expclean_cleanup_node namespace="robot1"><param name="publish_rate" value="5.0"/>
    </expclean_cleanup_node>``.

    :param name: node name (default ``cleanup``).
    :param namespace: node namespace.
    :param params_file: a YAML parameters file.
    :param parameters: parameter values (a dict), or launch_ros's list of dicts and files,
        applied after ``params_file``.
    :param tag_variable: the run tag's variable (default ``EXPCLEAN_RUN_ID``).
    :param prefix: a launch prefix, run inside the node's own session.
    """

    def __init__(self, *, name: SomeSubstitutionsType = 'cleanup',
                 namespace: SomeSubstitutionsType = '',
                 params_file: Optional[SomeSubstitutionsType] = None,
                 parameters: Optional[Union[Mapping, Sequence]] = None,
                 tag_variable: str = DEFAULT_TAG_VARIABLE,
                 output: SomeSubstitutionsType = 'screen',
                 prefix: Optional[SomeSubstitutionsType] = None,
                 exec_name: SomeSubstitutionsType = EXECUTABLE,
                 **kwargs):
        params: List[object] = []
        if params_file:
            params.append(params_file)
        if isinstance(parameters, Mapping):
            params.append(dict(parameters))
        elif parameters:
            params.extend(parameters)
        params.append({  # last: the launch that starts the node, whatever the file says
            'launch.pid': ParameterValue(LaunchConfiguration(LAUNCH_PID_CONFIG), value_type=int),
            'launch.run_tag': ParameterValue(LaunchConfiguration(RUN_ID_CONFIG, default=''),
                                             value_type=str),
            'launch.cgroup': ParameterValue(LaunchConfiguration(CGROUP_CONFIG, default=''),
                                            value_type=str)})
        session = ['setsid ']  # split by launch like any prefix
        if prefix is not None:
            session += normalize_to_list_of_substitutions(prefix)
        super().__init__(package=PACKAGE, executable=EXECUTABLE, name=name,
                         namespace=namespace, parameters=params, output=output,
                         prefix=session, exec_name=exec_name, **kwargs)
        self.__tag_variable = tag_variable
        self.__params_file = params_file
        self.__deferred = False

    @property
    def tag_variable(self) -> str:
        """Return the run tag's variable, removed from the node's environment."""
        return self.__tag_variable

    @property
    def params_file(self) -> Optional[SomeSubstitutionsType]:
        """Return the parameters file given, or None."""
        return self.__params_file

    @classmethod
    def parse(cls, entity: Entity, parser: Parser):
        """launch_ros's ``<node>`` parsing with ``pkg`` and ``exec`` fixed, then our own."""
        _, kwargs = super().parse(_FixedNodeEntity(entity), parser)
        del kwargs['package'], kwargs['executable']
        params_file = entity.get_attr('params_file', optional=True)
        if params_file is not None:
            kwargs['params_file'] = parser.parse_substitution(params_file)
        tag_variable = entity.get_attr('tag_variable', optional=True)
        if tag_variable is not None:
            kwargs['tag_variable'] = tag_variable
        return cls, kwargs

    def execute(self, context: LaunchContext):
        handle_shutdown_signals(context)  # SIGTERM, SIGHUP: as Ctrl-C
        context.register_event_handler(EventHandler(
            matcher=lambda event: isinstance(event, TeardownDone),
            entities=OpaqueFunction(function=self.__after_teardown)))
        LaunchSession.of(context).node_starting(context, self)  # in the run's cgroup, not of it
        context.launch_configurations[LAUNCH_PID_CONFIG] = str(os.getpid())
        env = context.environment
        names = {self.__tag_variable,
                 context.launch_configurations.get(TAG_VARIABLE_CONFIG, self.__tag_variable)}
        saved = {n: env.pop(n) for n in names if n in env}
        try:
            return super().execute(context)  # the process environment is fixed in here
        finally:
            env.update(saved)

    def _shutdown_process(self, context, *, send_sigint):
        """
        Let launch stop the node.

        Always with a SIGINT (in its own session, a terminal's Ctrl-C never reached it); while a
        teardown waits for shutdown, after that teardown.
        """
        if LaunchSession.of(context).teardown_pending:
            self.__deferred = True
            return None
        return super()._shutdown_process(context, send_sigint=True)

    def __after_teardown(self, context):
        if self.__deferred:
            self.__deferred = False
            return super()._shutdown_process(context, send_sigint=True)
        return None


class _FixedNodeEntity(Entity):
    """
    The tag as launch_ros's ``Node.parse`` reads it.

    ``pkg`` and ``exec`` fixed, every other attribute the tag's own (so an unknown one is still
    refused).
    """

    def __init__(self, entity: Entity):
        self.__entity = entity

    @property
    def type_name(self):
        return self.__entity.type_name

    @property
    def parent(self):
        return self.__entity.parent

    @property
    def children(self):
        return self.__entity.children

    def get_attr(self, name, **kwargs):
        fixed = {'pkg': PACKAGE, 'exec': EXECUTABLE}
        if name in fixed:
            return fixed[name]
        return self.__entity.get_attr(name, **kwargs)

    def assert_entity_completely_parsed(self):
        self.__entity.assert_entity_completely_parsed()
