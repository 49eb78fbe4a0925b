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

"""The RunTag action: one run tag for every process launched after it."""

import os
from typing import Optional, Union

from launch.action import Action
from launch.frontend import Entity, Parser, expose_action
from launch.launch_context import LaunchContext
from launch.logging import get_logger
from launch.some_substitutions_type import SomeSubstitutionsType
from launch.utilities import normalize_to_list_of_substitutions, perform_substitutions

from ..core.runs import run_tag
from ..core.runs.end_of_run import RunStart
from ..core.runs.shm_watch import run_pids
from ..core.procs.selection import DEFAULT_TAG_VARIABLE
from .arguments import parse_attributes, typed_argument, typed_value
from .run_session import LaunchSession
from .run_state import start_run
from .shutdown_signals import handle_shutdown_signals

__all__ = ['RunTag', 'RUN_ID_CONFIG', 'TAG_VARIABLE_CONFIG', 'CGROUP_CONFIG']

#: Launch configurations that hold the tag once a RunTag has run.
RUN_ID_CONFIG = 'expclean_run_id'
TAG_VARIABLE_CONFIG = 'expclean_tag_variable'
#: The run's cgroup (a path), or '' where it has none.
CGROUP_CONFIG = 'expclean_cgroup'
#: Its XML/YAML attributes, named as its keyword arguments.
_ATTRIBUTES = ('run_id', 'tag_variable', 'shm_cleanup', 'restart_daemon', 'ros_log_dir')


@expose_action('expclean_run_tag')
class RunTag(Action):
    """
    Put a run tag in the launch environment; every process started after it inherits it.

    An inherited tag (a launch started by ``expclean run``) is kept, else a
    fresh one is made. The tag is exposed as the launch configurations
    ``expclean_run_id`` and ``expclean_tag_variable``. A fresh tag's run gets
    a cgroup of its own where cgroup v2 allows (launch joins it; configuration
    ``expclean_cgroup``) and a record on disk; before that, runs of launches
    that were killed (recorded, their launch gone) are stopped.

    XML: ``<expclean_run_tag/>``; YAML: ``- expclean_run_tag: {}``.

    :param run_id: a tag to use instead of the inherited or a fresh one.
    :param tag_variable: the environment variable carrying it.
    :param shm_cleanup: ``true`` (default): record ``/dev/shm`` and memory now and watch
        what the run's processes hold, so that the Teardown action removes what the run
        left and says whether the machine is back; ``false``: not.
    :param restart_daemon: ``true`` (default): the Teardown action restarts a ROS 2
        daemon that still lists nodes of the run (ros2cli's API, never a signal).
    :param ros_log_dir: a folder: the run's processes write their ROS logs to
        ``<folder>/<run tag>`` (``ROS_LOG_DIR``) instead of ``~/.ros/log``; ``''``: unchanged.
    """

    def __init__(self, *, run_id: Optional[SomeSubstitutionsType] = None,
                 tag_variable: SomeSubstitutionsType = DEFAULT_TAG_VARIABLE,
                 shm_cleanup: Union[bool, SomeSubstitutionsType] = True,
                 restart_daemon: Union[bool, SomeSubstitutionsType] = True,
                 ros_log_dir: SomeSubstitutionsType = '', **kwargs):
        super().__init__(**kwargs)
        self.__run_id = None if run_id is None else normalize_to_list_of_substitutions(run_id)
        self.__tag_variable = normalize_to_list_of_substitutions(tag_variable)
        self.__shm_cleanup = typed_argument(shm_cleanup, bool)
        self.__restart_daemon = typed_argument(restart_daemon, bool)
        self.__ros_log_dir = normalize_to_list_of_substitutions(ros_log_dir)

    @classmethod
    def parse(cls, entity: Entity, parser: Parser):
        _, kwargs = super().parse(entity, parser)
        return cls, parse_attributes(entity, parser, _ATTRIBUTES, kwargs)

    @property
    def run_id(self):
        return self.__run_id

    @property
    def tag_variable(self):
        return self.__tag_variable

    def execute(self, context: LaunchContext):
        handle_shutdown_signals(context)  # SIGTERM, SIGHUP: as Ctrl-C
        variable = perform_substitutions(context, self.__tag_variable)
        given = perform_substitutions(context, self.__run_id) if self.__run_id else ''
        inherited = context.environment.get(variable, '').strip()
        run_id = given.strip() or run_tag.launch_run_id(context.environment, variable)
        context.environment.update(run_tag.tag_environment(run_id, variable))
        context.launch_configurations[RUN_ID_CONFIG] = run_id
        context.launch_configurations[TAG_VARIABLE_CONFIG] = variable
        get_logger('expclean').info(f'run tag {variable}={run_id}')
        # a run of its own (not given, not inherited from expclean run): a cgroup, a record
        fresh = not given.strip() and not inherited
        context.launch_configurations[CGROUP_CONFIG] = (
            start_run(run_id, variable) if fresh else '')
        logs = perform_substitutions(context, self.__ros_log_dir).strip()
        if logs:
            logs = os.path.join(os.path.abspath(os.path.expanduser(logs)), run_id)
            os.makedirs(logs, exist_ok=True)
            context.environment['ROS_LOG_DIR'] = logs
            get_logger('expclean').info(f'run {run_id}: ROS logs in {logs}')
        steps = []
        if typed_value(context, self.__restart_daemon, bool, 'expclean_run_tag restart_daemon'):
            from ..ros.ghosts import GhostWatch
            steps.append(GhostWatch())  # the daemon's nodes before the run
        # memory and /dev/shm before the run: its files are the run's candidates; the watch
        # follows the tagged processes, not the cgroup (launch and the cleanup node are in it)
        selection = run_tag.tag_selection(run_id, variable)
        run = RunStart.begin(selection, steps=steps, pids=run_pids(selection),
                             shm_cleanup=typed_value(context, self.__shm_cleanup, bool,
                                                     'expclean_run_tag shm_cleanup'))
        if run.shm is not None:
            run.shm.start_sampling()
        LaunchSession.of(context).add_run(run)
        return None
