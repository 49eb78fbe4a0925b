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

"""The cleanup node's parameters, one ParamSpec each: name, default, meaning, range."""

from dataclasses import dataclass
from typing import Optional, Tuple

from ..core.procs.escalation import (DEFAULT_SIGINT_TIMEOUT_S, DEFAULT_SIGKILL_TIMEOUT_S,
                                     DEFAULT_SIGTERM_TIMEOUT_S)
from ..core.procs.selection import DEFAULT_PROTECT, DEFAULT_TAG_VARIABLE, RUN_TAG_FORMAT

__all__ = ['ParamSpec', 'PARAMETERS', 'DEFAULTS', 'SPECS', 'expected']


@dataclass(frozen=True)
class ParamSpec:
    """
    One node parameter.

    :param name: ROS parameter name (dots group them in YAML).
    :param default: default value; its type is the parameter's type.
    :param description: shown by ``ros2 param describe``.
    :param low: inclusive lower bound for numbers, or None.
    :param high: inclusive upper bound for numbers, or None.
    :param read_only: set at start-up only.
    """

    name: str
    default: object
    description: str
    low: Optional[float] = None
    high: Optional[float] = None
    read_only: bool = False


PARAMETERS: Tuple[ParamSpec, ...] = (
    ParamSpec('publish_rate', 1.0, 'Hz of ~/memory; 0 disables', 0.0, 50.0),
    ParamSpec('diagnostics.rate_hz', 1.0, 'Hz of /diagnostics; 0 disables (the aggregator '
              'then marks the node stale)', 0.0, 50.0),
    ParamSpec('diagnostics.window', 5, 'diagnostics judge the mean of this many readings',
              1, 600),
    ParamSpec('ram_warn_percent', 90.0, 'RAM use that turns diagnostics WARN', 0.0, 100.0),
    ParamSpec('ram_error_percent', 98.0, 'RAM use that turns diagnostics ERROR', 0.0, 100.0),
    ParamSpec('swap_warn_percent', 50.0, 'swap use that turns diagnostics WARN', 0.0, 100.0),
    ParamSpec('swap_error_percent', 90.0, 'swap use that turns diagnostics ERROR', 0.0, 100.0),
    ParamSpec('gpu_warn_percent', 95.0, 'GPU memory use that turns diagnostics WARN', 0.0, 100.0),
    ParamSpec('gpu_error_percent', 99.0, 'GPU memory use that turns diagnostics ERROR',
              0.0, 100.0),
    ParamSpec('teardown.tag_variable', DEFAULT_TAG_VARIABLE,
              'environment variable that marks the processes of a run', read_only=True),
    ParamSpec('teardown.run_tag_format', RUN_TAG_FORMAT,
              'regular expression a run tag must match whole (in a request and in '
              'teardown.run_tag)', read_only=True),
    ParamSpec('teardown.run_tag', '',
              'run tag whose processes quick/comprehensive stop; "" = none'),
    ParamSpec('teardown.patterns', [],
              'regular expressions on command lines that quick/comprehensive stop (same '
              'user; only processes with ROS_DOMAIN_ID equal to ours, or tagged on domain 0); '
              '[] = none', read_only=True),
    ParamSpec('teardown.allow_request_patterns', False,
              'a ~/teardown request may carry patterns: any peer on this domain may then stop '
              'matching processes of this ROS domain', read_only=True),
    ParamSpec('teardown.protect', list(DEFAULT_PROTECT),
              'regular expressions of processes never stopped (default: the ROS 2 daemon, '
              'and the callers of the node: the expclean CLI, ros2 service call)',
              read_only=True),
    ParamSpec('teardown.allow_other_users', False,
              "stop other users' processes too (needs privileges)", read_only=True),
    ParamSpec('teardown.sigint_timeout_s', DEFAULT_SIGINT_TIMEOUT_S, 'wait after SIGINT, seconds',
              0.0, 60.0),
    ParamSpec('teardown.sigterm_timeout_s', DEFAULT_SIGTERM_TIMEOUT_S,
              'wait after SIGTERM, seconds', 0.0, 60.0),
    ParamSpec('teardown.sigkill_timeout_s', DEFAULT_SIGKILL_TIMEOUT_S,
              'wait after SIGKILL, seconds', 0.0, 60.0),
    ParamSpec('settle.tolerance_mb', 32.0,
              'memory counts as settled when the window moves less than this, MiB', 1.0, 65536.0),
    ParamSpec('settle.window_s', -1.0,
              'settling window, seconds; <0 = the plan\'s own (quick 0.15 s, comprehensive 0.3 s)',
              -1.0, 10.0),
    ParamSpec('settle.interval_s', 0.02, 'settling sample interval, seconds', 0.005, 1.0),
    ParamSpec('settle.quick_cap_s', -1.0,
              'longest settle of ~/quick, seconds; <0 = automatic (5-15 s)', -1.0, 600.0),
    ParamSpec('settle.comprehensive_cap_s', -1.0,
              'longest settle of ~/comprehensive, seconds; <0 = automatic (10-30 s)', -1.0, 600.0),
    ParamSpec('allow_system_caches', True,
              'comprehensive cleanup drops the page cache (needs root; skipped otherwise)',
              read_only=True),
    ParamSpec('allow_gpu_reset', False,
              'comprehensive cleanup may run nvidia-smi --gpu-reset (refused while a process '
              'uses the GPU; resets it for every user)', read_only=True),
    ParamSpec('dds_shm_cleanup', True,
              'remove stale Fast DDS shared-memory segments of killed nodes'),
    ParamSpec('shm_cleanup', True,
              'remove /dev/shm files whose creator is provably gone and that nobody holds '
              '(torch_<pid>_...)', read_only=True),
    ParamSpec('restart_daemon', True,
              'after a ~/teardown that stopped processes, a ROS 2 daemon of this domain that '
              'still lists nodes is restarted through ros2cli (never a signal): no ghost nodes'),
    ParamSpec('hooks.before', [], 'shell commands run before each cleanup; [] = none',
              read_only=True),
    ParamSpec('hooks.after', [], 'shell commands run after each cleanup; [] = none',
              read_only=True),
    ParamSpec('hooks.timeout_s', 30.0, 'time limit of one hook, seconds', 0.1, 3600.0,
              read_only=True),
    ParamSpec('hooks.allow_as_root', False,
              'a node running as root may run hooks (as root); otherwise it refuses to start '
              'with hooks', read_only=True),
    ParamSpec('dry_run', False, 'teardown steps list what they would stop and stop nothing'),
    ParamSpec('launch.pid', 0,
              'the launch process that started this node (its parent), set by the '
              'CleanupNodeAction launch action: when it dies, by any signal, the node stops '
              'launch.run_tag and exits; 0 = none', 0, 2 ** 31 - 1, read_only=True),
    ParamSpec('launch.run_tag', '', 'the run tag of the launch that started this node',
              read_only=True),
    ParamSpec('launch.cgroup', '',
              "the cgroup of that launch's run (expclean-<run tag>), or ''", read_only=True),
)

DEFAULTS = {spec.name: spec.default for spec in PARAMETERS}
SPECS = {spec.name: spec for spec in PARAMETERS}


def expected(spec: ParamSpec) -> str:
    """
    Say what a value of ``spec`` must be: its type, and its range for a number.

    >>> expected(SPECS['publish_rate'])
    'a number with a decimal point (double, e.g. 1.0) from 0 to 50'
    >>> expected(SPECS['dry_run'])
    'true or false (bool)'
    """
    default = spec.default
    if isinstance(default, bool):
        return 'true or false (bool)'
    if isinstance(default, float):
        kind = f'a number with a decimal point (double, e.g. {default:.1f})'
    elif isinstance(default, int):
        kind = 'a whole number (integer)'
    elif isinstance(default, list):
        return "a list of strings (e.g. ['a', 'b'])"
    else:
        return 'a string'
    if spec.low is not None and spec.high is not None:
        return f'{kind} from {spec.low:g} to {spec.high:g}'
    return kind
