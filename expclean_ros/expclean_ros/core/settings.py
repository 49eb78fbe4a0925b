"""The cleanup node's parameters: names, defaults, ranges and cross-checks.

Plain data, so the rules are testable without ROS; the node declares one ROS
parameter per :data:`PARAMETERS` entry and refuses sets that :func:`check` rejects.
"""

import functools
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Tuple

from .selection import DEFAULT_PROTECT

if TYPE_CHECKING:  # pragma: no cover
    from .plans import CleanupOptions
    from .teardown import Selection

__all__ = ['ParamSpec', 'PARAMETERS', 'DEFAULTS', 'SPECS', 'check', 'strings', 'selection',
           'cleanup_options']


@dataclass(frozen=True)
class ParamSpec:
    """One node parameter.

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
    ParamSpec('publish_rate', 1.0, 'Hz of ~/memory and /diagnostics; 0 disables', 0.0, 50.0),
    ParamSpec('ram_warn_percent', 90.0, 'RAM use that turns diagnostics WARN', 0.0, 100.0),
    ParamSpec('ram_error_percent', 98.0, 'RAM use that turns diagnostics ERROR', 0.0, 100.0),
    ParamSpec('swap_warn_percent', 50.0, 'swap use that turns diagnostics WARN', 0.0, 100.0),
    ParamSpec('swap_error_percent', 90.0, 'swap use that turns diagnostics ERROR', 0.0, 100.0),
    ParamSpec('gpu_warn_percent', 95.0, 'GPU memory use that turns diagnostics WARN', 0.0, 100.0),
    ParamSpec('gpu_error_percent', 99.0, 'GPU memory use that turns diagnostics ERROR',
              0.0, 100.0),
    ParamSpec('teardown.tag_variable', 'EXPCLEAN_RUN_ID',
              'environment variable that marks the processes of a run'),
    ParamSpec('teardown.run_tag', '',
              'run tag whose processes quick/comprehensive stop; "" = none'),
    ParamSpec('teardown.patterns', [''],
              'regular expressions on command lines that quick/comprehensive stop '
              '(same user and ROS domain only); [""] = none'),
    ParamSpec('teardown.protect', list(DEFAULT_PROTECT),
              'regular expressions of processes never stopped (default: the ROS 2 daemon, '
              'and the callers of a teardown)'),
    ParamSpec('teardown.allow_other_users', False,
              "stop other users' processes too (needs privileges)", read_only=True),
    ParamSpec('teardown.sigint_timeout_s', 2.0, 'wait after SIGINT, seconds', 0.0, 60.0),
    ParamSpec('teardown.sigterm_timeout_s', 2.0, 'wait after SIGTERM, seconds', 0.0, 60.0),
    ParamSpec('teardown.sigkill_timeout_s', 1.0, 'wait after SIGKILL, seconds', 0.0, 60.0),
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
              'comprehensive cleanup drops the page cache (needs root; skipped otherwise)'),
    ParamSpec('allow_gpu_reset', False,
              'comprehensive cleanup may run nvidia-smi --gpu-reset (refused while a process '
              'uses the GPU; resets it for every user)'),
    ParamSpec('dds_shm_cleanup', True,
              'remove stale Fast DDS shared-memory segments of killed nodes'),
    ParamSpec('hooks.before', [''], 'shell commands run before each cleanup; [""] = none'),
    ParamSpec('hooks.after', [''], 'shell commands run after each cleanup; [""] = none'),
    ParamSpec('hooks.timeout_s', 30.0, 'time limit of one hook, seconds', 0.1, 3600.0),
    ParamSpec('dry_run', False, 'teardown steps list what they would stop and stop nothing'),
)

DEFAULTS = {spec.name: spec.default for spec in PARAMETERS}
SPECS = {spec.name: spec for spec in PARAMETERS}


def strings(value):
    """A string-array parameter without its empty placeholders."""
    return tuple(v for v in value if v)


def check(values: dict) -> Optional[str]:
    """Return why ``values`` (all parameters, after a change) are refused, or None.

    >>> check(dict(DEFAULTS, ram_warn_percent=99.0)) is None
    False
    >>> check(DEFAULTS) is None
    True
    """
    for name, value in values.items():
        spec = SPECS.get(name)
        if spec is None:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            return f'{name} must be a finite number, got {value}'
        if spec.low is not None and value < spec.low:
            return f'{name} must be >= {spec.low:g}, got {value:g}'
        if spec.high is not None and value > spec.high:
            return f'{name} must be <= {spec.high:g}, got {value:g}'
    for kind in ('ram', 'swap', 'gpu'):
        warn, error = values[f'{kind}_warn_percent'], values[f'{kind}_error_percent']
        if warn > error:
            return (f'{kind}_warn_percent ({warn:g}) must not be above '
                    f'{kind}_error_percent ({error:g})')
    for name in ('teardown.patterns', 'teardown.protect'):
        for pattern in strings(values[name]):
            try:
                re.compile(pattern)
            except re.error as exc:
                return f'{name}: {pattern!r} is not a valid regular expression ({exc})'
    if not re.fullmatch(r'[A-Za-z_][A-Za-z0-9_]*', values['teardown.tag_variable']):
        return ('teardown.tag_variable must be an environment variable name '
                f'(letters, digits, _), got {values["teardown.tag_variable"]!r}')
    return None


def selection(values) -> Optional['Selection']:
    """The teardown selection configured by parameters, or None when none is set."""
    from .teardown import Selection
    tag, patterns = values['teardown.run_tag'], strings(values['teardown.patterns'])
    if not tag and not patterns:
        return None
    return Selection(tag=tag or None, patterns=patterns,
                     tag_variable=values['teardown.tag_variable'],
                     protect=strings(values['teardown.protect']),
                     allow_other_users=values['teardown.allow_other_users'])


def teardown_timeouts(values) -> dict:
    """The escalation timeouts configured by parameters, as teardown() keywords."""
    return {f'{stage}_timeout_s': values[f'teardown.{stage}_timeout_s']
            for stage in ('sigint', 'sigterm', 'sigkill')}


def cleanup_options(values, stop=None) -> 'CleanupOptions':
    """Node parameters -> the core plans' CleanupOptions (``stop`` ends waits early)."""
    from . import teardown
    from .plans import CleanupOptions
    chosen = selection(values)
    step = None
    if chosen is not None:
        step = functools.partial(teardown.teardown_step, chosen, dry_run=values['dry_run'],
                                 **teardown_timeouts(values))
    return CleanupOptions(
        allow_system_caches=values['allow_system_caches'],
        allow_gpu_reset=values['allow_gpu_reset'],
        hooks_before=strings(values['hooks.before']),
        hooks_after=strings(values['hooks.after']),
        hook_timeout_s=values['hooks.timeout_s'],
        settle_tolerance_bytes=max(1, int(values['settle.tolerance_mb'] * 1024 * 1024)),
        settle_window_s=values['settle.window_s'] if values['settle.window_s'] > 0 else None,
        settle_interval_s=values['settle.interval_s'],
        dds_shm_cleanup=values['dds_shm_cleanup'],
        teardown=step, stop=stop)
