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
The ``cleanup`` node: ROS services and topics over the expclean core.

Services (all private, so a namespace moves them): ``~/quick``,
``~/comprehensive`` (std_srvs/Trigger), ``~/between_runs``, ``~/get_memory``,
``~/teardown``. Topics: ``~/memory`` at ``publish_rate``, ``~/report``
(transient-local), ``/diagnostics`` at ``diagnostics.rate_hz`` (monitor.py).
One cleanup runs at a time; a call that arrives meanwhile is answered at once
with ``busy: <plan> cleanup running for N s``.
"""

import dataclasses
import functools
import os
import signal
import sys

import rclpy
from expclean_interfaces.msg import CleanupReport
from expclean_interfaces.srv import CleanupBetweenRuns, GetMemoryUsage, Teardown
from rcl_interfaces.msg import SetParametersResult
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.exceptions import ParameterException
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions
from std_srvs.srv import Trigger

from expclean_ros.core.cleanup import plans, summary
from expclean_ros.core.memory import probes
from expclean_ros.core.memory.attribution import Baseline
from expclean_ros.core.memory.shm_record import ShmRecord
from expclean_ros.ros import announce, messages, parameters, rclpy_compat
from expclean_ros.ros.busy import BusyGuard
from expclean_ros.ros.duplicate_watch import DuplicateWatch, refuse_if_taken
from expclean_ros.ros.launch_parent import watch_launch
from expclean_ros.ros.monitor import Monitor
from expclean_ros.ros.qos import LATCHED_QOS, SERVICE_QOS
from expclean_ros.ros.replies import ReplyRetrier
from expclean_ros.ros.signals import leave, spin_until_stopped, stop_on_signals
from expclean_ros.ros.teardown_service import serve_teardown

__all__ = ['CleanupNode', 'main', 'run']


def _never_raises(callback):
    """
    Service callbacks answer success=false with the error instead of raising.

    An exception escaping a callback would end the executor's spin, and the node.
    """
    @functools.wraps(callback)
    def guarded(self, request, response):
        try:
            return callback(self, request, response)
        except Exception as exc:
            self.get_logger().error(f'{callback.__name__} raised: {exc!r}')
            response.success = False
            response.message = f'internal error: {type(exc).__name__}: {exc}'
            return response
    return guarded


class CleanupNode(Node):
    """Cleanup services, memory topic and diagnostics for one machine."""

    def __init__(self, *, stop=None, **kwargs):
        """:param stop: a threading.Event set at shutdown; it ends a running wait at once."""
        super().__init__('cleanup', **kwargs)
        self._stop = stop
        for spec in parameters.PARAMETERS:
            self.declare_parameter(spec.name, messages.declared_default(spec),
                                   messages.parameter_descriptor(spec))
        self.values = {s.name: parameters.from_ros(s, self.get_parameter_or(s.name).value)
                       for s in parameters.PARAMETERS}
        reason = (parameters.check(self.values)
                  or parameters.check_privileges(self.values, os.geteuid()))
        if reason:
            raise ValueError(f'invalid parameters: {reason}')
        self.add_on_set_parameters_callback(self._on_set_parameters)
        refuse_if_taken(self)  # another node of this name serves: it keeps serving, not this one

        self._busy = BusyGuard()
        # /dev/shm when the previous cleanup ended: what a cleanup compares with (no run record)
        self._shm_since, self._since = ShmRecord.take(), "at the node's start"
        self._table_since = Baseline.take()  # what RAM grown since is accounted against
        work = ReentrantCallbackGroup()  # a second call must get "busy" at once
        reading = ReentrantCallbackGroup()
        for srv_type, name, callback, group in (
                (Trigger, '~/quick', self._on_quick, work),
                (Trigger, '~/comprehensive', self._on_comprehensive, work),
                (CleanupBetweenRuns, '~/between_runs', self._on_between_runs, work),
                (Teardown, '~/teardown', self._on_teardown, work),
                (GetMemoryUsage, '~/get_memory', self._on_get_memory, reading)):
            self.create_service(srv_type, name, callback, qos_profile=SERVICE_QOS,
                                callback_group=group)
        self._replies = ReplyRetrier(self.get_logger())  # a new caller's reply is never lost:
        for service in self.services:  # ours, and rclpy's parameter services
            self._replies.wrap(service)
        self._report_pub = self.create_publisher(CleanupReport, '~/report', LATCHED_QOS)
        self._monitor = Monitor(self, self.values)
        self._duplicates = DuplicateWatch(self)  # another node of this name: said loudly
        self.get_logger().info(
            f'ready: {self.get_fully_qualified_name()}/{{quick,comprehensive,between_runs,'
            f'get_memory,teardown}}, memory at {self.values["publish_rate"]:g} Hz')
        if os.geteuid() == 0:
            self.get_logger().info('running as root: needed only for drop_caches and a GPU '
                                   'reset; see the README, "Who can make this node do what"')

    def destroy_node(self):
        replies = getattr(self, '_replies', None)  # None: __init__ refused to start
        if replies is not None:
            replies.close()
        super().destroy_node()

    # -- parameters ---------------------------------------------------------
    def _on_set_parameters(self, params):
        values = dict(self.values)
        for p in params:
            spec = parameters.SPECS.get(p.name)
            if spec is not None and spec.read_only:
                return SetParametersResult(
                    successful=False, reason=f'{p.name} is read-only: it decides what runs or '
                    'what is stopped, so it is set at start-up only (YAML, launch file, '
                    '--ros-args -p)')
            values[p.name] = p.value
        reason = parameters.check(values)
        if reason:
            return SetParametersResult(successful=False, reason=reason)
        self.values = values
        self._monitor.apply(values)
        return SetParametersResult(successful=True)

    # -- services -----------------------------------------------------------
    @_never_raises
    def _on_get_memory(self, request, response):
        try:
            snapshot = probes.take_snapshot()
        except Exception as exc:
            response.success, response.message = False, f'memory snapshot failed: {exc}'
            return response
        response.memory = messages.memory_usage(snapshot, self.get_clock().now().to_msg())
        response.success, response.message = True, summary.memory_line(snapshot)
        return response

    # -- cleanups -----------------------------------------------------------
    @_never_raises
    def _on_quick(self, request, response):
        return self._trigger(response, 'quick', lambda: plans.quick(
            self._options(), **_cap(self.values['settle.quick_cap_s'])))

    @_never_raises
    def _on_comprehensive(self, request, response):
        return self._trigger(response, 'comprehensive', lambda: plans.comprehensive(
            self._options(), **_cap(self.values['settle.comprehensive_cap_s'])))

    @_never_raises
    def _on_between_runs(self, request, response):
        wait = None if request.wait_time_s < 0 else request.wait_time_s
        report = self._run('between_runs', lambda: plans.between_runs(
            request.run_index, request.total_runs, comprehensive=request.comprehensive,
            wait_time=wait, options=self._options(request.caller_pid)), response)
        if report is not None:
            response.skipped = report.skipped
            response.report = messages.cleanup_report(report, self.get_clock().now().to_msg())
            if request.verbose:
                for step in report.steps:
                    self.get_logger().info(f'  {summary.step_line(step)}')
        return response

    @_never_raises
    def _on_teardown(self, request, response):
        return serve_teardown(self.values, self._busy, request, response,
                              self.get_logger().info)

    def _trigger(self, response, plan, work):
        self._run(plan, work, response)
        return response

    def _run(self, plan, work, response):
        """Run one plan under the busy guard; answer, publish and log its report."""
        busy = self._busy.try_begin(plan)
        if busy:
            response.success, response.message = False, busy
            return None
        report = None
        try:
            report = work()
        except ValueError as exc:  # bad arguments: checked before anything is done
            response.success, response.message = False, f'refused: {exc}'
            return None
        except Exception as exc:  # a callback never raises
            self.get_logger().error(f'{plan} cleanup raised: {exc!r}')
            response.success, response.message = False, f'{plan} failed: {exc}'
            return None
        finally:
            if report is not None and not report.skipped:
                self._shm_since, self._since = ShmRecord.take(), 'at the previous cleanup'
                self._table_since = Baseline.take()
            self._busy.end()
        response.success, response.message = report.success, report.message
        if not report.skipped:  # ~/report keeps the last cleanup that ran
            self._report_pub.publish(
                messages.cleanup_report(report, self.get_clock().now().to_msg()))
        log = self.get_logger().info if report.success else self.get_logger().warning
        log(report.message)
        return report

    def _options(self, caller_pid=0):
        return dataclasses.replace(
            parameters.cleanup_options(self.values, self._stop, caller_pid),
            verify_shm=self._shm_since, verify_since=self._since,
            verify_processes=self._table_since)


def _cap(value):
    """Return a cap parameter as plan keywords: < 0 means the plan's own default."""
    return {} if value < 0 else {'cap_s': value}


def main(args=None):
    """Run the cleanup node until SIGINT/SIGTERM (exit 0); exit 1 on bad parameters."""
    stop = stop_on_signals()
    profile = announce.apply()  # Fast DDS: re-announce every 0.25 s (ros/announce.py)
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    node = watch = None
    try:
        node = CleanupNode(stop=stop)
        announce.restore(profile)  # the participant is made: our children do not inherit it
        watch = watch_launch(node)  # started by launch: never outlive it
        executor = MultiThreadedExecutor(num_threads=4)
        executor.add_node(node)
        rclpy_compat.warn_unchecked(node.get_logger(), executor)
        spin_until_stopped(executor, node, stop)  # and shut the executor down
    except (ValueError, ParameterException) as exc:  # bad parameters at start-up
        print(f'cleanup_node: error: {parameters.explain(exc)}', file=sys.stderr)
        return 1
    finally:
        if watch is not None:
            watch.close()
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
        # Python resets handlers it installed to the default at exit; a late
        # SIGINT would then kill us with -2. Ignored signals stay ignored.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
    return 0


def run():
    """Return the ``cleanup_node`` command: :func:`main`, then leave at once (signals.leave)."""
    leave(main())


if __name__ == '__main__':
    run()
