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

"""The CleanupCall action: ask a cleanup node for its quick or comprehensive cleanup."""

import asyncio
from typing import Optional

from launch.action import Action
from launch.frontend import Entity, Parser, expose_action
from launch.launch_context import LaunchContext
from launch.logging import get_logger
from launch.some_substitutions_type import SomeSubstitutionsType
from launch.utilities import normalize_to_list_of_substitutions, perform_substitutions

from ..core.cleanup import PLANS
from ..core.node_names import full_node_name
from .arguments import parse_attributes
from .events import CleanupDone
from .prepared_call import PreparedCall
from .shutdown_signals import handle_shutdown_signals

__all__ = ['CleanupCall', 'answer', 'cleanup_done', 'check_plan', 'full_node_name', 'PLANS']


def check_plan(node: str, plan: str) -> None:
    """Refuse a plan or node name a cleanup call cannot use, saying what is expected."""
    if plan not in PLANS:
        raise ValueError(f"cleanup plan must be 'quick' or 'comprehensive', got {plan!r}")
    try:
        full_node_name(node)
    except ValueError:
        raise ValueError(f"cleanup node must be a full node name, e.g. '/robot1/cleanup', "
                         f'got {node!r}') from None


async def answer(prepared: PreparedCall) -> CleanupDone:
    """Make the prepared call, log its answer and return it as a :class:`CleanupDone`."""
    return cleanup_done(prepared, *await prepared.call())


def cleanup_done(prepared: PreparedCall, ok: bool, message: str) -> CleanupDone:
    """Log the answer of the prepared call and return it as a :class:`CleanupDone`."""
    node, plan = prepared.node, prepared.plan
    get_logger('expclean').info(f'{node} {plan}: {"ok" if ok else "FAILED"}: {message}')
    return CleanupDone(node=node, plan=plan, success=ok, message=message)


@expose_action('expclean_cleanup')
class CleanupCall(Action):
    """
    Call ``quick`` or ``comprehensive`` on a cleanup node, off launch's event loop.

    Emits :class:`~expclean_ros.launch_actions.CleanupDone` with the answer.

    XML: ``<expclean_cleanup node="/robot1/cleanup" plan="quick"/>``.

    :param node: the node's full name (default ``/cleanup``).
    :param plan: ``quick`` or ``comprehensive`` (default).
    :param timeout: seconds to wait for the answer (default 120).
    """

    def __init__(self, *, node: SomeSubstitutionsType = '/cleanup',
                 plan: SomeSubstitutionsType = 'comprehensive',
                 timeout: SomeSubstitutionsType = '120', **kwargs):
        super().__init__(**kwargs)
        self.__node = normalize_to_list_of_substitutions(node)
        self.__plan = normalize_to_list_of_substitutions(plan)
        self.__timeout = normalize_to_list_of_substitutions(timeout)
        self.__future: Optional[asyncio.Future] = None

    @classmethod
    def parse(cls, entity: Entity, parser: Parser):
        _, kwargs = super().parse(entity, parser)
        return cls, parse_attributes(entity, parser, ('node', 'plan', 'timeout'), kwargs)

    def execute(self, context: LaunchContext):
        handle_shutdown_signals(context)  # SIGTERM, SIGHUP: as Ctrl-C
        node = full_node_name(perform_substitutions(context, self.__node))
        plan = perform_substitutions(context, self.__plan)
        timeout = float(perform_substitutions(context, self.__timeout))
        check_plan(node, plan)
        self.__future = context.asyncio_loop.create_task(
            self._run(context, PreparedCall(node, plan, timeout)))
        return None

    async def _run(self, context, prepared):
        try:
            await context.emit_event(await answer(prepared))
        finally:
            await asyncio.wrap_future(prepared.close())

    def get_asyncio_future(self) -> Optional[asyncio.Future]:
        return self.__future
