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
import functools
import time
from typing import Optional, Union

from launch.action import Action
from launch.event_handlers import OnShutdown
from launch.frontend import Entity, Parser, expose_action
from launch.launch_context import LaunchContext
from launch.some_substitutions_type import SomeSubstitutionsType
from launch.substitutions import LaunchConfiguration
from launch.utilities import normalize_to_list_of_substitutions, perform_substitutions

from ..core.procs.escalation import (DEFAULT_SIGINT_TIMEOUT_S, DEFAULT_SIGKILL_TIMEOUT_S,
                                     DEFAULT_SIGTERM_TIMEOUT_S, StopTimeouts)
from ..core.procs.selection import DEFAULT_TAG_VARIABLE
from ..core.runs.end_of_run import RunStart, end_run
from ..core.runs.run_tag import tag_selection
from .arguments import parse_attributes, typed_argument, typed_value
from .cleanup_call import check_plan, cleanup_done, full_node_name
from .end_log import log_stage, log_tree
from .events import TeardownDone
from .prepared_call import PreparedCall
from .presignalled import presignalled_by
from .run_session import LaunchSession
from .run_state import finish_run, run_cgroup
from .run_tag import CGROUP_CONFIG, RUN_ID_CONFIG, TAG_VARIABLE_CONFIG
from .shutdown_signals import handle_shutdown_signals

__all__ = ['Teardown']

#: After the call's client has closed, time for the cleanup node to see it leave.
DEPARTURE_S = 0.05

#: Its XML/YAML attributes, named as its keyword arguments.
_ATTRIBUTES = ('run_id', 'tag_variable', 'on_shutdown', 'sigint_timeout', 'sigterm_timeout',
               'sigkill_timeout', 'cleanup', 'cleanup_node', 'cleanup_timeout', 'snapshot',
               'cgroup')


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
    :param tag_variable: the tag's environment variable (default: the RunTag's).
    :param on_shutdown: true: wait for launch's shutdown (Ctrl-C included); a bool, or
        text launch reads as one (``true``, ``false``, ``1``, ``0``).
    :param sigint_timeout: seconds after the SIGINTs before SIGTERM (default 2.0);
        ``sigterm_timeout`` (2.0) and ``sigkill_timeout`` (1.0) likewise.
    :param cleanup: ``none`` (default), ``quick`` or ``comprehensive``: the plan
        to call on ``cleanup_node`` (full name, default ``/cleanup``) afterwards,
        waiting ``cleanup_timeout`` seconds (120) for its answer.
    :param snapshot: a path to write the tagged tree to, as JSON.
    :param cgroup: the run's cgroup (default: the RunTag's).
    """

    def __init__(self, *, run_id: SomeSubstitutionsType = LaunchConfiguration(
                     RUN_ID_CONFIG, default=''),
                 tag_variable: SomeSubstitutionsType = LaunchConfiguration(
                     TAG_VARIABLE_CONFIG, default=DEFAULT_TAG_VARIABLE),
                 on_shutdown: Union[bool, SomeSubstitutionsType] = False,
                 sigint_timeout: Union[float, SomeSubstitutionsType] = DEFAULT_SIGINT_TIMEOUT_S,
                 sigterm_timeout: Union[float, SomeSubstitutionsType] = DEFAULT_SIGTERM_TIMEOUT_S,
                 sigkill_timeout: Union[float, SomeSubstitutionsType] = DEFAULT_SIGKILL_TIMEOUT_S,
                 cleanup: SomeSubstitutionsType = 'none',
                 cleanup_node: SomeSubstitutionsType = '/cleanup',
                 cleanup_timeout: Union[float, SomeSubstitutionsType] = 120.0,
                 snapshot: SomeSubstitutionsType = '',
                 cgroup: SomeSubstitutionsType = LaunchConfiguration(
                     CGROUP_CONFIG, default=''), **kwargs):
        super().__init__(**kwargs)
        self.__run_id = normalize_to_list_of_substitutions(run_id)
        self.__tag_variable = normalize_to_list_of_substitutions(tag_variable)
        self.__on_shutdown = typed_argument(on_shutdown, bool)
        self.__sigint_timeout = typed_argument(sigint_timeout, float)
        self.__sigterm_timeout = typed_argument(sigterm_timeout, float)
        self.__sigkill_timeout = typed_argument(sigkill_timeout, float)
        self.__cleanup = normalize_to_list_of_substitutions(cleanup)
        self.__cleanup_node = normalize_to_list_of_substitutions(cleanup_node)
        self.__cleanup_timeout = typed_argument(cleanup_timeout, float)
        self.__snapshot = normalize_to_list_of_substitutions(snapshot)
        self.__cgroup = normalize_to_list_of_substitutions(cgroup)
        self.__future: Optional[asyncio.Future] = None
        self.__prepared: Optional[PreparedCall] = None

    @classmethod
    def parse(cls, entity: Entity, parser: Parser):
        _, kwargs = super().parse(entity, parser)
        return cls, parse_attributes(entity, parser, _ATTRIBUTES, kwargs)

    @property
    def run_id(self):
        """Return the run tag to stop."""
        return self.__run_id

    @property
    def tag_variable(self):
        """Return the tag's environment variable."""
        return self.__tag_variable

    @property
    def on_shutdown(self):
        """Return whether it waits for launch's shutdown (a bool, or substitutions)."""
        return self.__on_shutdown

    @property
    def timeouts(self):
        """Return the SIGINT, SIGTERM and SIGKILL timeouts: floats, or substitutions."""
        return (self.__sigint_timeout, self.__sigterm_timeout, self.__sigkill_timeout)

    @property
    def cleanup(self):
        """Return the plan called afterwards: ``none``, ``quick`` or ``comprehensive``."""
        return self.__cleanup

    @property
    def cleanup_node(self):
        """Return the full name of the node the plan is called on."""
        return self.__cleanup_node

    @property
    def cleanup_timeout(self):
        """Seconds the cleanup call waits for its answer."""
        return self.__cleanup_timeout

    @property
    def snapshot(self):
        """Return a path the tagged tree is written to as JSON ('': none)."""
        return self.__snapshot

    @property
    def cgroup(self):
        """Return the run's cgroup, '' for none."""
        return self.__cgroup

    def _text(self, context, value):
        return perform_substitutions(context, value).strip()

    def execute(self, context: LaunchContext):
        handle_shutdown_signals(context)  # SIGTERM, SIGHUP: as Ctrl-C
        if typed_value(context, self.__on_shutdown, bool, 'expclean_teardown on_shutdown'):
            if not context.is_shutdown:
                self._wait_for_shutdown(context)
                return None
        self._start(context)
        return None

    def _wait_for_shutdown(self, context):
        """Run as a new Teardown at launch's shutdown; its cleanup call is prepared now."""
        prepared = self._prepare(context)  # a bad plan or node name is refused here, at once
        LaunchSession.of(context).teardown_pending = True
        # the tag and the call as they are now: a configuration may be out of scope then
        text = functools.partial(self._text, context)
        now = dict(run_id=text(self.__run_id), tag_variable=text(self.__tag_variable),
                   on_shutdown=False, sigint_timeout=self.__sigint_timeout,
                   sigterm_timeout=self.__sigterm_timeout, sigkill_timeout=self.__sigkill_timeout,
                   cleanup=text(self.__cleanup), cleanup_node=text(self.__cleanup_node),
                   cleanup_timeout=self._seconds(context, self.__cleanup_timeout,
                                                 'cleanup_timeout'),
                   snapshot=self.__snapshot, cgroup=text(self.__cgroup))

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

        None when there is no call.
        """
        plan = self._text(context, self.__cleanup)
        if plan == 'none':
            return None
        node = full_node_name(self._text(context, self.__cleanup_node))
        check_plan(node, plan)
        return PreparedCall(node, plan, self._seconds(context, self.__cleanup_timeout,
                                                      'cleanup_timeout'))

    @staticmethod
    def _seconds(context, value, name) -> float:
        return float(typed_value(context, value, float, f'expclean_teardown {name}'))

    def _start(self, context):
        """Log the tagged tree, then stop it (and make the call) in a task."""
        prepared, self.__prepared = self.__prepared, None  # each execution makes one call
        try:
            if prepared is None:
                prepared = self._prepare(context)
            run_id = self._text(context, self.__run_id)
            if not run_id:
                raise ValueError('expclean_teardown: no run tag; put an expclean_run_tag '
                                 'action before it or pass run_id')
            variable = self._text(context, self.__tag_variable)
            timeouts = StopTimeouts(*(self._seconds(context, value, name) for name, value in zip(
                ('sigint_timeout', 'sigterm_timeout', 'sigkill_timeout'), self.timeouts)))
            cgroup = run_cgroup(run_id, self._text(context, self.__cgroup))
            snapshot = self._text(context, self.__snapshot)
        except Exception:
            if prepared is not None:
                prepared.close()
            raise
        presignalled = presignalled_by(context, getattr(context.locals, 'event', None))
        self.__future = context.asyncio_loop.create_task(self._run(
            context, (run_id, variable, cgroup), snapshot, timeouts, presignalled, prepared))

    async def _run(self, context, run, snapshot, timeouts, presignalled, prepared):
        loop = asyncio.get_running_loop()
        run_id, variable, cgroup = run
        session = LaunchSession.of(context)
        # the records RunTag took before the run (none for a tag given from outside)
        start = session.run(run_id)
        end = done = None
        closing = []
        try:
            if prepared is not None:
                # The call's entities exist before any process stops: Fast DDS 3.2 can
                # deadlock a participant that creates one while a matched peer leaves.
                await asyncio.wrap_future(prepared.made())
            selection = tag_selection(run_id, variable, cgroup, await session.spared())
            log_tree(selection, snapshot)
            if start is None:
                start = RunStart(selection)
            start.selection = selection
            start.on_stopped = functools.partial(finish_run, run_id, selection.cgroup)
            calls = []

            def call(given):  # in the worker thread: the prepared call, its answer an event
                calls.append(cleanup_done(prepared, *prepared.call_sync()))
                # its client goes now, while the machine is verified (the finally awaits it)
                prepared.close()
                closing.append(time.monotonic())
                asyncio.run_coroutine_threadsafe(context.emit_event(calls[0]), loop).result()
                return calls[0]
            # reap=False: launch's child watcher waits for its own children, not us
            end = await loop.run_in_executor(None, lambda: end_run(
                start, timeouts=timeouts, presignalled=presignalled, reap=False,
                cleanup=call if prepared is not None else None,
                progress=functools.partial(log_stage, run_id)))
            done = end.cleanup
        finally:  # a cleanup node waiting for this teardown is stopped whatever happened
            if prepared is not None:
                # The call's DDS participant goes first, and the node sees it go, before the
                # node is stopped: Fast DDS 3.2 can deadlock deleting a participant while a
                # remote one leaves (launch then freezes in the client's close).
                await asyncio.wrap_future(prepared.close())
                since = time.monotonic() - closing[0] if closing else 0.0
                await asyncio.sleep(max(0.0, DEPARTURE_S - since))  # from the close's start
            if start is not None:
                start.close()
            await context.emit_event(TeardownDone(
                run_id=run_id, result=end and end.teardown, cleanup=done,
                shm=end and end.shm, verification=end and end.verification))

    def get_asyncio_future(self) -> Optional[asyncio.Future]:
        return self.__future
