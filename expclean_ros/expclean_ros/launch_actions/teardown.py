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

"""The Teardown action: stop a run's tagged processes without blocking launch's event loop."""

import asyncio
import json
import os
from typing import Optional

from launch.action import Action
from launch.event_handlers import OnShutdown
from launch.events import Shutdown
from launch.frontend import Entity, Parser, expose_action
from launch.launch_context import LaunchContext
from launch.logging import get_logger
from launch.some_substitutions_type import SomeSubstitutionsType
from launch.substitutions import LaunchConfiguration
from launch.utilities import normalize_to_list_of_substitutions, perform_substitutions

from ..core.memory.probes import take_snapshot
from ..core.procs.scanner import select
from ..core.runs.run_tag import tag_selection
from ..core.procs.selection import DEFAULT_TAG_VARIABLE
from ..core.procs.teardown import teardown
from .cleanup_call import answer, check_plan, full_node_name
from .cleanup_node import TEARDOWN_PENDING
from .events import TeardownDone
from .prepared_call import PreparedCall
from .run_state import end_run, run_cgroup, spared
from .run_tag import CGROUP_CONFIG, RUN_ID_CONFIG, SHM_WATCHES, TAG_VARIABLE_CONFIG
from .shutdown_signals import handle_shutdown_signals

__all__ = ['Teardown']

#: After the call's client has closed, time for the cleanup node to see it leave.
DEPARTURE_S = 0.05

_ARGS = ('run_id', 'tag_variable', 'on_shutdown', 'sigint_timeout', 'sigterm_timeout',
         'sigkill_timeout', 'cleanup', 'cleanup_node', 'cleanup_timeout', 'snapshot', 'cgroup')


@expose_action('expclean_teardown')
class Teardown(Action):
    """
    Stop every process carrying the run tag, then optionally call a cleanup plan.

    Logs (and optionally writes as JSON) the tagged tree first, then runs the
    teardown engine (tops of the trees first, one SIGINT each, then SIGTERM,
    SIGKILL) in a worker thread, so launch keeps handling its events. On
    launch's shutdown, processes launch (or the terminal's Ctrl-C) has already
    interrupted get no second SIGINT. Emits
    :class:`~expclean_ros.launch_actions.TeardownDone` when done.

    XML: ``<expclean_teardown on_shutdown="true" cleanup="comprehensive"/>``.

    :param run_id: the tag to stop (default: the ``expclean_run_id`` configuration
        a :class:`RunTag` set).
    :param on_shutdown: ``true``: wait for launch's shutdown (Ctrl-C included).
    :param cleanup: ``none`` (default), ``quick`` or ``comprehensive``: the plan
        to call on ``cleanup_node`` (full name, default ``/cleanup``) afterwards.
    :param snapshot: a path to write the tagged tree to, as JSON.
    """

    def __init__(self, *, run_id: SomeSubstitutionsType = LaunchConfiguration(
                     RUN_ID_CONFIG, default=''),
                 tag_variable: SomeSubstitutionsType = LaunchConfiguration(
                     TAG_VARIABLE_CONFIG, default=DEFAULT_TAG_VARIABLE),
                 on_shutdown: SomeSubstitutionsType = 'false',
                 sigint_timeout: SomeSubstitutionsType = '2.0',
                 sigterm_timeout: SomeSubstitutionsType = '2.0',
                 sigkill_timeout: SomeSubstitutionsType = '1.0',
                 cleanup: SomeSubstitutionsType = 'none',
                 cleanup_node: SomeSubstitutionsType = '/cleanup',
                 cleanup_timeout: SomeSubstitutionsType = '120',
                 snapshot: SomeSubstitutionsType = '',
                 cgroup: SomeSubstitutionsType = LaunchConfiguration(
                     CGROUP_CONFIG, default=''), **kwargs):
        super().__init__(**kwargs)
        values = locals()
        self.__args = {name: normalize_to_list_of_substitutions(values[name]) for name in _ARGS}
        self.__future: Optional[asyncio.Future] = None
        self.__prepared: Optional[PreparedCall] = None

    @classmethod
    def parse(cls, entity: Entity, parser: Parser):
        _, kwargs = super().parse(entity, parser)
        for name in _ARGS:
            value = entity.get_attr(name, optional=True)
            if value is not None:
                kwargs[name] = parser.parse_substitution(value)
        return cls, kwargs

    def _value(self, context, name):
        return perform_substitutions(context, self.__args[name]).strip()

    def execute(self, context: LaunchContext):
        handle_shutdown_signals(context)  # SIGTERM, SIGHUP: as Ctrl-C
        if self._value(context, 'on_shutdown').lower() in ('true', '1', 'yes'):
            if not context.is_shutdown:
                self._wait_for_shutdown(context)
                return None
        self._start(context)
        return None

    def _wait_for_shutdown(self, context):
        """Run as a new Teardown at launch's shutdown; its cleanup call is prepared now."""
        prepared = self._prepare(context)  # a bad plan or node name is refused here, at once
        context.extend_globals({TEARDOWN_PENDING: True})
        # the tag and the call as they are now: a configuration may be out of scope then
        now = dict(self.__args, on_shutdown='false', **{
            name: self._value(context, name) for name in (
                'run_id', 'tag_variable', 'cleanup', 'cleanup_node', 'cleanup_timeout',
                'cgroup')})

        def at_shutdown(event, ctx):
            action = Teardown(**now)
            action.__prepared = prepared
            return [action]
        # once: a second Shutdown event (e.g. an on_exit="shutdown" process that
        # Ctrl-C ended) must not start a second teardown and cleanup call
        context.register_event_handler(OnShutdown(on_shutdown=at_shutdown, handle_once=True))

    def _prepare(self, context) -> Optional[PreparedCall]:
        """
        Return the cleanup call with its client made ready in a worker thread.

        None: no call.
        """
        plan = self._value(context, 'cleanup')
        if plan == 'none':
            return None
        node = full_node_name(self._value(context, 'cleanup_node'))
        check_plan(node, plan)
        return PreparedCall(node, plan, float(self._value(context, 'cleanup_timeout')))

    def _start(self, context):
        """Log the tagged tree, then stop it (and make the call) in a task."""
        prepared, self.__prepared = self.__prepared, None  # each execution makes one call
        try:
            if prepared is None:
                prepared = self._prepare(context)
            run_id = self._value(context, 'run_id')
            if not run_id:
                raise ValueError('expclean_teardown: no run tag; put an expclean_run_tag '
                                 'action before it or pass run_id')
            variable = self._value(context, 'tag_variable')
            timeouts = tuple(float(self._value(context, n)) for n in
                             ('sigint_timeout', 'sigterm_timeout', 'sigkill_timeout'))
            cgroup = run_cgroup(run_id, self._value(context, 'cgroup'))
            snapshot = self._value(context, 'snapshot')
        except Exception:
            if prepared is not None:
                prepared.close()
            raise
        presignalled = _presignalled(context, getattr(context.locals, 'event', None))
        self.__future = context.asyncio_loop.create_task(self._run(
            context, (run_id, variable, cgroup), snapshot, timeouts, presignalled, prepared))

    @staticmethod
    def _snapshot(selection, path):
        run_id = selection.tag
        tree = tuple(select(selection))
        lines = [f'run {run_id}: {len(tree)} tagged processes before teardown']
        lines += [f'  {c.pid} (ppid {c.ppid}) {c.cmdline[:120]}' for c in tree]
        get_logger('expclean').info('\n'.join(lines))
        if path:
            with open(path, 'w') as f:
                json.dump({'run_id': run_id, 'processes': [c.as_dict() for c in tree]}, f)

    async def _run(self, context, run, snapshot, timeouts, presignalled, prepared):
        loop = asyncio.get_running_loop()
        log = get_logger('expclean')
        run_id = run[0]
        result = done = shm = checked = None
        watch, before, ghosts = getattr(context.locals, SHM_WATCHES, {}).get(
            run_id, (None, None, None))
        try:
            if prepared is not None:
                # The call's entities exist before any process stops: Fast DDS 3.2 can
                # deadlock a participant that creates one while a matched peer leaves.
                await asyncio.wrap_future(prepared.made())
            selection = tag_selection(*run, await spared(context))
            self._snapshot(selection, snapshot)
            if watch is not None:  # what the run's processes hold as the teardown begins
                await loop.run_in_executor(None, lambda: watch.observe(force=True))
            if ghosts is not None:  # the run's nodes as the daemon lists them now
                await loop.run_in_executor(None, ghosts.observe)
            # reap=False: launch's child watcher waits for its own children, not us
            result = await loop.run_in_executor(None, lambda: teardown(
                selection, *timeouts, presignalled=presignalled, reap=False))
            log.info(f'run {run_id}: {result.summary()}')
            end_run(run_id, selection.cgroup, result)
            if watch is not None:
                shm = await loop.run_in_executor(None, watch.clean)
                log.info(f'run {run_id}: {shm.name} {shm.status}: {shm.detail}')
            if ghosts is not None:
                daemon = await loop.run_in_executor(None, ghosts.settle)
                log.info(f'run {run_id}: {daemon.name} {daemon.status}: {daemon.detail}')
            if prepared is not None:
                done = await answer(prepared)
                await context.emit_event(done)
            if watch is not None:
                checked = await loop.run_in_executor(
                    None, lambda: watch.verify(before, take_snapshot()))
                (log.info if checked.clean else log.warning)(f'run {run_id}: {checked.line}')
        finally:  # a cleanup node waiting for this teardown is stopped whatever happened
            if prepared is not None:
                # The call's DDS participant goes first, and the node sees it go, before the
                # node is stopped: Fast DDS 3.2 can deadlock deleting a participant while a
                # remote one leaves (seen here: launch frozen in the client's close).
                await asyncio.wrap_future(prepared.close())
                await asyncio.sleep(DEPARTURE_S)
            if watch is not None:
                watch.stop_sampling()
            await context.emit_event(TeardownDone(run_id=run_id, result=result, cleanup=done,
                                                  shm=shm, verification=checked))

    def get_asyncio_future(self) -> Optional[asyncio.Future]:
        return self.__future


def _foreground() -> bool:
    """
    Return whether launch's process group is the foreground group of its terminal.

    Then a Ctrl-C there reached every process of the group.
    """
    for fd in (0, 1, 2):
        try:
            if os.isatty(fd):
                return os.tcgetpgrp(fd) == os.getpgrp()
        except OSError:
            continue
    return False


def _presignalled(context, event):
    """Which processes got their SIGINT from launch or the terminal at this shutdown."""
    if not isinstance(event, Shutdown):
        return None
    if not event.due_to_sigint or context.noninteractive:
        me = os.getpid()
        return lambda info: info.ppid == me  # launch interrupts its own children
    if _foreground():
        group = os.getpgrp()
        return lambda info: info.pgid == group
    return None  # SIGINT to launch's pid only: nobody has interrupted them yet
