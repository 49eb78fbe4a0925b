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
``expclean doctor``: what a cleanup could do on this machine, as this user.

:func:`diagnose` runs every check of :mod:`.memory_checks` and
:mod:`.system_checks` (none changes anything) and decides, against what a
plan needs (:data:`PLAN_NEEDS`), whether a batch can start; a needed check
passes only when it ``works``. Checks the core cannot make (the ROS graph)
are passed in by the caller as ``extra``.
"""

import logging
from dataclasses import dataclass
from typing import Callable, Sequence, Tuple

from . import PLAN_NEEDS
from .check import UNAVAILABLE, WORKS, Check
from .memory_checks import (check_gpu_reset, check_gpus, check_memory, check_nvidia_smi,
                            check_torch)
from .system_checks import (check_cgroups, check_dds_shm, check_drop_caches,
                            check_process_table, check_ros_env)

__all__ = ['DoctorReport', 'PLAN_NEEDS', 'diagnose']

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DoctorReport:
    """Every check, what the plan needs, and whether those needs are met."""

    checks: Tuple[Check, ...]
    plan: str
    needs: Tuple[str, ...]

    @property
    def missing(self) -> Tuple[str, ...]:
        """Needed checks that do not work (or were not run)."""
        states = {c.name: c.state for c in self.checks}
        return tuple(n for n in self.needs if states.get(n) != WORKS)

    @property
    def ok(self) -> bool:
        return not self.missing

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def summary(self) -> str:
        """Return the last line of the text output."""
        needs = ', '.join(self.needs)
        if self.ok:
            return f'ready for plan {self.plan} (needs {needs})'
        return f'NOT ready for plan {self.plan}: {", ".join(self.missing)} not working'

    def lines(self) -> Tuple[str, ...]:
        return tuple(c.line() for c in self.checks) + (self.summary(),)

    def as_dict(self) -> dict:
        return {'plan': self.plan, 'needs': list(self.needs), 'missing': list(self.missing),
                'ok': self.ok, 'exit_code': self.exit_code, 'summary': self.summary(),
                'checks': [c.as_dict() for c in self.checks]}


def _safe(name: str, fn: Callable) -> Tuple[Check, ...]:
    try:
        out = fn()
    except Exception as exc:  # one broken probe never hides the others
        _log.exception('doctor check %s raised', name)
        return (Check(name, UNAVAILABLE, f'check failed: {type(exc).__name__}: {exc}'),)
    return (out,) if isinstance(out, Check) else tuple(out)


def diagnose(plan: str = 'comprehensive', *, need: Sequence[str] = (),
             allow_gpu_reset: bool = False, torch_timeout_s: float = 30.0,
             extra: Sequence[Tuple[str, Callable]] = ()) -> DoctorReport:
    """
    Run every check; ``need`` adds check names (``drop_caches``, ``nvml``, ...) to the plan's.

    :param extra: ``(name, callable)`` pairs returning a Check or Checks, e.g.
        the CLI's ROS graph check.
    """
    if plan not in PLAN_NEEDS:
        raise ValueError(f'plan must be one of {", ".join(PLAN_NEEDS)}, got {plan!r}')
    checks = list(_safe('memory', check_memory))
    gpus = _safe('nvml', check_gpus)
    smi = _safe('nvidia_smi', check_nvidia_smi)
    checks += gpus + _safe('torch', lambda: check_torch(torch_timeout_s)) + smi
    checks += _safe('gpu_reset', lambda: check_gpu_reset(gpus, smi[0], allow_gpu_reset))
    for name, fn in (('drop_caches', check_drop_caches), ('process_table', check_process_table),
                     ('cgroups', check_cgroups), ('dds_shm', check_dds_shm),
                     ('ros_env', check_ros_env)) + tuple(extra):
        checks += _safe(name, fn)
    needs = tuple(dict.fromkeys(PLAN_NEEDS[plan] + tuple(need)))
    return DoctorReport(tuple(checks), plan, needs)
