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

"""The Experiment action: a process whose exit shuts launch down, in XML and YAML too."""

from launch.actions import EmitEvent, ExecuteProcess
from launch.events import Shutdown
from launch.frontend import Entity, Parser, expose_action

__all__ = ['Experiment']

#: The only ``on_exit`` the tag takes (its default), as ``<executable on_exit="shutdown">``.
ON_EXIT = 'shutdown'


@expose_action('expclean_experiment')
class Experiment(ExecuteProcess):
    """
    The experiment: an ``ExecuteProcess`` whose exit, however it ends, shuts launch down.

    With a :class:`~expclean_ros.launch_actions.Teardown` that waits for
    shutdown before it, the run's teardown and the cleanup call follow, then
    the cleanup node stops. It is ``<executable cmd=".." on_exit="shutdown"/>``
    on every distro: Humble's XML and YAML ``executable`` has no ``on_exit``
    (it refuses the attribute; Iron added it).

    XML: ``<expclean_experiment cmd="sh -c $(var experiment)" name="experiment"/>``; every
    attribute and child of ``executable`` (``cwd``, ``env``, ``output``, ...) as there.

    :param on_exit: actions when the process exits (default: launch's ``Shutdown``,
        reason ``experiment exited``); in XML/YAML only ``shutdown``.
    :param kwargs: as ``ExecuteProcess`` (``cmd``, ``name``, ``output``, ...).
    """

    def __init__(self, *, on_exit=None, **kwargs):
        if on_exit is None:
            on_exit = [EmitEvent(event=Shutdown(reason='experiment exited'))]
        super().__init__(on_exit=on_exit, **kwargs)

    @classmethod
    def parse(cls, entity: Entity, parser: Parser):
        """Parse as ``executable`` does (launch's own), with ``on_exit`` read here."""
        _, kwargs = super().parse(entity, parser, ignore=['on_exit'])
        on_exit = entity.get_attr('on_exit', optional=True)
        if on_exit is not None and on_exit.strip() != ON_EXIT:
            raise ValueError(f"expclean_experiment: on_exit must be '{ON_EXIT}' (the default: "
                             f"its exit shuts launch down), got {on_exit!r}")
        return cls, kwargs
