"""The RunTag action: one run tag for every process launched after it."""

from typing import Optional

from launch.action import Action
from launch.frontend import Entity, Parser, expose_action
from launch.launch_context import LaunchContext
from launch.logging import get_logger
from launch.some_substitutions_type import SomeSubstitutionsType
from launch.utilities import normalize_to_list_of_substitutions, perform_substitutions

from ..core.runs import run_tag
from ..core.procs.selection import DEFAULT_TAG_VARIABLE
from .run_state import start_run
from .shutdown_signals import handle_shutdown_signals

__all__ = ['RunTag', 'RUN_ID_CONFIG', 'TAG_VARIABLE_CONFIG', 'CGROUP_CONFIG']

#: Launch configurations that hold the tag once a RunTag has run.
RUN_ID_CONFIG = 'expclean_run_id'
TAG_VARIABLE_CONFIG = 'expclean_tag_variable'
#: The run's cgroup (a path), or '' where it has none.
CGROUP_CONFIG = 'expclean_cgroup'


@expose_action('expclean_run_tag')
class RunTag(Action):
    """Put a run tag in the launch environment; every process started after it inherits it.

    An inherited tag (a launch started by ``expclean run``) is kept, else a
    fresh one is made. The tag is exposed as the launch configurations
    ``expclean_run_id`` and ``expclean_tag_variable``. A fresh tag's run gets
    a cgroup of its own where cgroup v2 allows (launch joins it; configuration
    ``expclean_cgroup``) and a record on disk; before that, runs of launches
    that were killed (recorded, their launch gone) are stopped.

    XML: ``<expclean_run_tag/>``; YAML: ``- expclean_run_tag: {}``.

    :param run_id: a tag to use instead of the inherited or a fresh one.
    :param tag_variable: the environment variable carrying it.
    """

    def __init__(self, *, run_id: Optional[SomeSubstitutionsType] = None,
                 tag_variable: SomeSubstitutionsType = DEFAULT_TAG_VARIABLE, **kwargs):
        super().__init__(**kwargs)
        self.__run_id = None if run_id is None else normalize_to_list_of_substitutions(run_id)
        self.__tag_variable = normalize_to_list_of_substitutions(tag_variable)

    @classmethod
    def parse(cls, entity: Entity, parser: Parser):
        _, kwargs = super().parse(entity, parser)
        for name in ('run_id', 'tag_variable'):
            value = entity.get_attr(name, optional=True)
            if value is not None:
                kwargs[name] = parser.parse_substitution(value)
        return cls, kwargs

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
        return None
