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
The cleanup node's parameters: names, defaults, ranges and cross-checks.

Plain data, so the rules are testable without ROS; the node declares one ROS
parameter per :data:`PARAMETERS` entry, typed and with its range in the descriptor
(rclpy enforces both), and refuses sets that :func:`check` rejects.

Every peer on the ROS domain may set every writable parameter, so whatever
decides what runs or what dies (hooks, protect list, tag variable, configured
patterns, the run tag format, request patterns, GPU reset, system caches, other
users) is read-only: fixed at start-up from the YAML file, the launch file or
``--ros-args -p``.
"""

import functools
import re
from typing import TYPE_CHECKING, Optional

import regex

from ..core.procs.escalation import StopTimeouts
from ..core.procs.patterns import compile_all
from ..core.procs.requests import RequestPolicy, check_run_tag
from .parameter_table import DEFAULTS, expected, PARAMETERS, ParamSpec, SPECS

if TYPE_CHECKING:  # pragma: no cover
    from ..core.cleanup.plans import CleanupOptions
    from ..core.procs.selection import Selection

__all__ = ['ParamSpec', 'PARAMETERS', 'DEFAULTS', 'SPECS', 'check', 'check_privileges',
           'strings', 'from_ros', 'selection', 'request_policy', 'cleanup_options',
           'longest_cleanup_s', 'explain', 'expected']


def strings(value):
    """
    Return a string-array parameter without empty strings.

    ``['']``, the placeholder for none that older YAML files write (ROS could not type an empty
    list), means none too.

    >>> strings(['']), strings(['a', ''])
    ((), ('a',))
    """
    return tuple(v for v in value or () if v)


#: rclpy's words for a value of the wrong type, or out of its descriptor's range; the name last.
_RCLPY_ERROR = re.compile(r"(?:to '(?P<typed>.*)' of type '(?P<type>\w+)'|"
                          r"value \((?P<value>.*)\) for parameter).*: (?P<name>[\w.]+)$",
                          re.DOTALL)


def explain(error) -> str:
    """
    Say which value a parameter takes, for rclpy's error about a value it refused.

    Any other error is returned as it was.

    >>> explain("Trying to set parameter 'publish_rate' to '-1' of type 'INTEGER', "
    ...         "expecting type 'DOUBLE': publish_rate").split(' (double, e.g. 1.0) ')
    ['publish_rate must be a number with a decimal point', 'from 0 to 50, got -1 (INTEGER)']
    """
    match = _RCLPY_ERROR.search(str(error))
    spec = SPECS.get(match.group('name')) if match else None
    if spec is None:
        return str(error)
    got = (f"{match.group('typed')} ({match.group('type')})" if match.group('type')
           else match.group('value'))
    return f'{spec.name} must be {expected(spec)}, got {got}'


def from_ros(spec: ParamSpec, value):
    """
    Return a parameter's value as the node reads it.

    A string array declared without a value (an empty default, or ``[]`` in a YAML file or ``-p
    name:=[]``, which ROS leaves unset) is the empty list.

    >>> from_ros(SPECS['hooks.before'], None), from_ros(SPECS['publish_rate'], 2.0)
    ([], 2.0)
    """
    if value is None and isinstance(spec.default, list):
        return []
    return value


def check(values: dict) -> Optional[str]:
    """
    Return why ``values`` (all parameters, after a change) are refused, or None.

    The rules between parameters, and on text; each number's range (``low``,
    ``high``) is in its ParameterDescriptor, which rclpy enforces before this runs
    (at start-up and on every set), NaN and infinities included.

    >>> check(dict(DEFAULTS, ram_warn_percent=99.0)) is None
    False
    >>> check(DEFAULTS) is None
    True
    """
    for kind in ('ram', 'swap', 'gpu'):
        warn, error = values[f'{kind}_warn_percent'], values[f'{kind}_error_percent']
        if warn > error:
            return (f'{kind}_warn_percent ({warn:g}) must not be above '
                    f'{kind}_error_percent ({error:g})')
    for name in ('teardown.patterns', 'teardown.protect', 'teardown.run_tag_format'):
        value = values[name]
        try:
            compile_all(strings(value) if isinstance(value, list) else (value,))
        except ValueError as exc:
            return f'{name}: not a valid regular expression ({exc})'
    if not regex.fullmatch(r'[A-Za-z_][A-Za-z0-9_]*', values['teardown.tag_variable']):
        return ('teardown.tag_variable must be an environment variable name '
                f'(letters, digits, _), got {values["teardown.tag_variable"]!r}')
    for name in ('teardown.run_tag', 'launch.run_tag'):
        if values[name]:
            try:
                check_run_tag(values[name], values['teardown.run_tag_format'])
            except (ValueError, TimeoutError) as exc:
                return f'{name}: {exc}'
    return None


def check_privileges(values: dict, euid: int) -> Optional[str]:
    """
    Why the node must not start with ``values`` as user ``euid``, or None.

    Hooks are shell commands: a node running as root would run them as root.

    >>> check_privileges(dict(DEFAULTS, **{'hooks.before': ['sync']}), 0) is None
    False
    >>> check_privileges(dict(DEFAULTS, **{'hooks.before': ['sync']}), 1000) is None
    True
    """
    hooks = strings(values['hooks.before']) + strings(values['hooks.after'])
    if euid == 0 and hooks and not values['hooks.allow_as_root']:
        return ('hooks are set and the node runs as root, so they would run as root: run the '
                'node as a normal user (root is needed only for drop_caches and a GPU reset), '
                'or set hooks.allow_as_root:=true')
    return None


def selection(values, caller_pid: int = 0) -> Optional['Selection']:
    """
    Return the teardown selection configured by parameters, or None when none is set.

    Patterns reach only processes that prove they are on our ROS domain
    (``strict_domain``); ``caller_pid`` (a between-runs caller) is spared.
    """
    from ..core.procs.selection import Selection
    tag, patterns = values['teardown.run_tag'], strings(values['teardown.patterns'])
    if not tag and not patterns:
        return None
    return Selection(tag=tag or None, patterns=patterns,
                     tag_variable=values['teardown.tag_variable'],
                     protect=strings(values['teardown.protect']),
                     allow_other_users=values['teardown.allow_other_users'],
                     spare_pids=(caller_pid,) if caller_pid > 0 else (), strict_domain=True)


def request_policy(values) -> RequestPolicy:
    """Return what a ~/teardown request may select, from the node's read-only parameters."""
    return RequestPolicy(tag_variable=values['teardown.tag_variable'],
                         run_tag_format=values['teardown.run_tag_format'],
                         allow_patterns=values['teardown.allow_request_patterns'],
                         protect=strings(values['teardown.protect']),
                         allow_other_users=values['teardown.allow_other_users'])


def teardown_timeouts(values) -> StopTimeouts:
    """Return the escalation timeouts configured by parameters."""
    return StopTimeouts.of(values, 'teardown.')


def cleanup_options(values, stop=None, caller_pid: int = 0) -> 'CleanupOptions':
    """Node parameters -> the core plans' CleanupOptions (``stop`` ends waits early)."""
    from ..core.cleanup.plans import CleanupOptions
    from ..core.procs.teardown_step import teardown_step
    chosen = selection(values, caller_pid)
    step = None
    if chosen is not None:
        step = functools.partial(teardown_step, chosen, dry_run=values['dry_run'],
                                 **teardown_timeouts(values).keywords())
    return CleanupOptions(
        allow_system_caches=values['allow_system_caches'],
        allow_gpu_reset=values['allow_gpu_reset'],
        hooks_before=strings(values['hooks.before']),
        hooks_after=strings(values['hooks.after']),
        hook_timeout_s=values['hooks.timeout_s'],
        settle_tolerance_bytes=max(1, int(values['settle.tolerance_mb'] * 1024 * 1024)),
        settle_window_s=values['settle.window_s'] if values['settle.window_s'] > 0 else None,
        settle_interval_s=values['settle.interval_s'],
        dds_shm_cleanup=values['dds_shm_cleanup'], shm_cleanup=values['shm_cleanup'],
        teardown=step, stop=stop)


#: Bounds used by :func:`longest_cleanup_s` beyond the parameters.
GPU_RESET_BOUND_S = 8 * 60.0  # nvidia-smi --gpu-reset: 60 s per GPU, up to 8 GPUs
SLACK_S = 30.0  # selection, memory readings, DDS: generous


def longest_cleanup_s(values, plan: str, wait_s: Optional[float] = None) -> float:
    """
    How long one cleanup of ``plan`` may take at most under ``values`` (node parameters).

    ``plan``: quick | comprehensive | teardown; ``wait_s``: a between-runs wait
    (fixed, or its automatic cap). Parameters missing from ``values`` count at
    their defaults. Clients use it as their default timeout.

    >>> longest_cleanup_s({}, 'quick')
    50.0
    """
    v = dict(DEFAULTS, **(values or {}))
    escalation = sum(v[f'teardown.{s}_timeout_s'] for s in ('sigint', 'sigterm', 'sigkill'))
    if plan == 'teardown':
        return escalation + SLACK_S
    from ..core.cleanup.plans import COMPREHENSIVE_CAP_RANGE, QUICK_CAP_RANGE
    full = plan != 'quick'
    if wait_s is None:
        cap = v['settle.comprehensive_cap_s' if full else 'settle.quick_cap_s']
        wait_s = cap if cap >= 0 else (COMPREHENSIVE_CAP_RANGE if full else QUICK_CAP_RANGE)[1]
    hooks = (len(strings(v['hooks.before'])) + len(strings(v['hooks.after']))) \
        * v['hooks.timeout_s']
    gpu = GPU_RESET_BOUND_S if full and v['allow_gpu_reset'] else 0.0
    return float(hooks + escalation + wait_s + gpu + SLACK_S)
