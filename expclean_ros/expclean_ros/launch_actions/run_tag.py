"""The RunTag action: one run tag for every process launched after it."""

from typing import Optional

from launch.action import Action
from launch.frontend import Entity, Parser, expose_action
from launch.launch_context import LaunchContext
from launch.logging import get_logger
from launch.some_substitutions_type import SomeSubstitutionsType
from launch.utilities import normalize_to_list_of_substitutions, perform_substitutions

from ..core.memory.probes import take_snapshot
from ..core.runs import run_tag
from ..core.runs.shm_watch import ShmWatch, run_pids
from ..core.procs.selection import DEFAULT_TAG_VARIABLE

__all__ = ['RunTag', 'RUN_ID_CONFIG', 'TAG_VARIABLE_CONFIG', 'SHM_WATCHES']

#: Launch configurations that hold the tag once a RunTag has run.
RUN_ID_CONFIG = 'expclean_run_id'
TAG_VARIABLE_CONFIG = 'expclean_tag_variable'
#: context.locals entry: run tag -> (ShmWatch, memory before the run) for the Teardown action.
SHM_WATCHES = 'expclean_shm_watches'


@expose_action('expclean_run_tag')
class RunTag(Action):
    """Put a run tag in the launch environment; every process started after it inherits it.

    An inherited tag (a launch started by ``expclean run``) is kept, else a
    fresh one is made. The tag is exposed as the launch configurations
    ``expclean_run_id`` and ``expclean_tag_variable``.

    XML: ``<expclean_run_tag/>``; YAML: ``- expclean_run_tag: {}``.

    :param run_id: a tag to use instead of the inherited or a fresh one.
    :param tag_variable: the environment variable carrying it.
    :param shm_cleanup: ``true`` (default): record ``/dev/shm`` and memory now and watch
        what the run's processes hold, so that the Teardown action removes what the run
        left and says whether the machine is back; ``false``: not.
    """

    def __init__(self, *, run_id: Optional[SomeSubstitutionsType] = None,
                 tag_variable: SomeSubstitutionsType = DEFAULT_TAG_VARIABLE,
                 shm_cleanup: SomeSubstitutionsType = 'true', **kwargs):
        super().__init__(**kwargs)
        self.__run_id = None if run_id is None else normalize_to_list_of_substitutions(run_id)
        self.__tag_variable = normalize_to_list_of_substitutions(tag_variable)
        self.__shm_cleanup = normalize_to_list_of_substitutions(shm_cleanup)

    @classmethod
    def parse(cls, entity: Entity, parser: Parser):
        _, kwargs = super().parse(entity, parser)
        for name in ('run_id', 'tag_variable', 'shm_cleanup'):
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
        variable = perform_substitutions(context, self.__tag_variable)
        given = perform_substitutions(context, self.__run_id) if self.__run_id else ''
        run_id = given.strip() or run_tag.launch_run_id(context.environment, variable)
        context.environment.update(run_tag.tag_environment(run_id, variable))
        context.launch_configurations[RUN_ID_CONFIG] = run_id
        context.launch_configurations[TAG_VARIABLE_CONFIG] = variable
        get_logger('expclean').info(f'run tag {variable}={run_id}')
        if perform_substitutions(context, self.__shm_cleanup).strip().lower() in (
                'true', '1', 'yes'):
            watch = ShmWatch()  # /dev/shm before the run: its files are the run's candidates
            watch.follow(run_pids(run_tag.tag_selection(run_id, variable)))
            watch.start_sampling()
            watches = dict(getattr(context.locals, SHM_WATCHES, {}))
            watches[run_id] = (watch, take_snapshot())
            context.extend_globals({SHM_WATCHES: watches})
        return None
