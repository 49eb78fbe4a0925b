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

"""Translate core results to ROS messages and ROS requests to core arguments."""

import socket
import time

from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from expclean_interfaces.msg import (CleanupReport, GpuMemory, GpuProcess, MemoryUsage,
                                     ProcessInfo, StepResult)
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, ParameterType
from std_msgs.msg import Header

from expclean_ros.core.procs import requests
from expclean_ros.ros import parameters

__all__ = ['memory_usage', 'diagnostics', 'cleanup_report', 'selection',
           'timeouts', 'fill_teardown', 'parameter_descriptor']

_HOST = socket.gethostname()
_LEVELS = (DiagnosticStatus.OK, DiagnosticStatus.WARN, DiagnosticStatus.ERROR)


def memory_usage(snapshot, stamp):
    """Turn a MemorySnapshot into expclean_interfaces/MemoryUsage; ``stamp``: the node's clock."""
    msg = MemoryUsage(header=Header(stamp=stamp, frame_id=''),
                      hostname=getattr(snapshot, 'hostname', '') or _HOST)
    msg.ram_total_bytes = snapshot.ram_total_bytes
    msg.ram_used_bytes = snapshot.ram_used_bytes
    msg.ram_available_bytes = snapshot.ram_available_bytes
    msg.ram_percent = float(snapshot.ram_percent)
    msg.swap_total_bytes = snapshot.swap_total_bytes
    msg.swap_used_bytes = snapshot.swap_used_bytes
    msg.swap_percent = float(snapshot.swap_percent)
    msg.gpus = [GpuMemory(
        index=g.index, name=g.name, uuid=g.uuid, used_bytes=g.used_bytes,
        total_bytes=g.total_bytes,
        processes=[GpuProcess(pid=p.pid, used_bytes=p.used_bytes) for p in g.processes])
        for g in snapshot.gpus]
    msg.gpu_status = snapshot.gpu_status
    msg.dds_shm_files = snapshot.dds_shm_files
    msg.dds_shm_bytes = snapshot.dds_shm_bytes
    return msg


def diagnostics(assessments, node_name, stamp):
    """
    Health assessments -> one DiagnosticArray, one status per resource (RAM, swap, GPUn).

    Named and keyed as diagnostic_updater does: ``"<node name>: <task>"``,
    hardware id the host name.
    """
    array = DiagnosticArray()
    array.header.stamp = stamp
    for h in assessments:
        array.status.append(DiagnosticStatus(
            level=_LEVELS[h.level], name=f'{node_name}: {h.name}',
            message=h.message, hardware_id=_HOST,
            values=[KeyValue(key=k, value=v) for k, v in h.values]))
    return array


def step_result(step):
    return StepResult(name=step.name, status=step.status, detail=step.detail,
                      duration_s=float(step.seconds))


def process_info(p):
    """Return a teardown's per-process dict -> ProcessInfo."""
    return ProcessInfo(pid=int(p.get('pid', 0)), name=str(p.get('name', '')),
                       cmdline=str(p.get('cmdline', '')), reason=str(p.get('reason', '')),
                       stage=str(p.get('stage', '')),
                       detail=str(p.get('why', '') or p.get('detail', '')))


def cleanup_report(report, stamp):
    """
    Core CleanupReport -> expclean_interfaces/CleanupReport; ``stamp``: the node's clock now.

    The two snapshots are stamped on the same clock, back-dated by their age.
    """
    msg = CleanupReport(header=Header(stamp=stamp, frame_id=''), plan=report.plan,
                        success=report.success, message=report.message,
                        duration_s=float(report.seconds))
    msg.steps = [step_result(s) for s in report.steps]
    if report.memory_before is not None:
        msg.memory_before = memory_usage(report.memory_before, _aged(stamp, report.memory_before))
    if report.memory_after is not None:
        msg.memory_after = memory_usage(report.memory_after, _aged(stamp, report.memory_after))
    if report.settle is not None:
        msg.settled = bool(report.settle.settled)
        msg.settle_s = float(report.settle.seconds)
    msg.processes_stopped = report.processes_stopped
    msg.processes_left = report.processes_left
    checked = getattr(report, 'verification', None)
    msg.clean = checked is None or bool(checked.clean)
    msg.excess_bytes = int(checked.excess_bytes) if checked is not None else 0
    msg.excess = list(checked.contributors) if checked is not None else []
    msg.processes = [process_info(p) for s in report.steps if s.name == 'teardown'
                     for p in s.data.get('processes', ())]
    return msg


def _aged(stamp, snapshot):
    """``stamp`` minus the snapshot's age (its wall-clock time to now), as a Time."""
    age_ns = max(0, int((time.time() - snapshot.timestamp) * 1e9))
    total = max(0, stamp.sec * 1_000_000_000 + stamp.nanosec - age_ns)
    return Time(sec=total // 1_000_000_000, nanosec=total % 1_000_000_000)


def selection(request, values):
    """Teardown request + node parameters -> core Selection (ValueError says why not)."""
    return requests.teardown_selection(
        parameters.request_policy(values), run_tag=request.run_tag, root_pid=request.root_pid,
        root_start_time=request.root_start_time, patterns=request.patterns,
        caller_pid=request.caller_pid)


def timeouts(request, values):
    """Return the request's StopTimeouts, each falling back to the node's parameter when < 0."""
    configured = parameters.teardown_timeouts(values)
    return type(configured)(*(
        given if given >= 0 else default for given, default in zip(
            (request.sigint_timeout_s, request.sigterm_timeout_s, request.sigkill_timeout_s),
            configured)))


def fill_teardown(response, result, extra=''):
    """Core TeardownResult -> Teardown response; ``extra`` is appended to the message."""
    response.success = not result.left
    response.message = result.summary() + extra
    response.stopped = result.stopped
    response.left = len(result.left)
    response.mechanism = result.mechanism
    response.processes = [process_info(p.as_dict()) for p in result.processes]
    return response


def parameter_descriptor(spec) -> ParameterDescriptor:
    """
    Return a parameter table entry as a ParameterDescriptor, with its range if any.

    A list is a string array, statically typed, so that ``[]`` is one too.
    """
    descriptor = ParameterDescriptor(description=spec.description, read_only=spec.read_only)
    if isinstance(spec.default, list):
        descriptor.type = ParameterType.PARAMETER_STRING_ARRAY
        descriptor.dynamic_typing = False
    if isinstance(spec.default, int) and not isinstance(spec.default, bool) \
            and spec.low is not None:
        descriptor.integer_range = [IntegerRange(
            from_value=int(spec.low), to_value=int(spec.high), step=1)]
    if isinstance(spec.default, float) and spec.low is not None:
        descriptor.floating_point_range = [FloatingPointRange(
            from_value=float(spec.low), to_value=float(spec.high), step=0.0)]
    return descriptor


def declared_default(spec):
    """
    Return what the node declares ``spec`` with.

    Its default, but for an empty list the string-array type alone (rclpy would type an empty list
    as a byte array).
    """
    if spec.default == []:
        from rclpy.parameter import Parameter
        return Parameter.Type.STRING_ARRAY
    return spec.default
