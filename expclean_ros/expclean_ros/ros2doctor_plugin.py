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
expclean in ``ros2 doctor``: its checks and a report section, through ros2doctor's entry points.

Loaded by ros2doctor only (entry points ``ros2doctor.checks`` and ``ros2doctor.report`` in
setup.py); where ros2doctor is not installed nothing loads it. Both wrap the checks of
``expclean doctor`` (core/doctor), run once per process for the comprehensive plan, without the
ROS graph check (``ros2 doctor`` looks at the graph itself): a check the plan needs that does not
work is an error, any other that does not fully work a warning.
"""

import functools

from ros2doctor.api import DoctorCheck, DoctorReport, Report, Result
from ros2doctor.api.format import doctor_error, doctor_warn

from expclean_ros.core.doctor.check import WORKS

__all__ = ['ExpcleanCheck', 'ExpcleanReport', 'CATEGORY']

#: The category that links the check and the report (``ros2 doctor --report-fail``).
CATEGORY = 'expclean'
PLAN = 'comprehensive'
#: Importing torch in a child process, at most (``expclean doctor --torch-timeout``).
TORCH_TIMEOUT_S = 15.0


@functools.lru_cache(maxsize=1)
def diagnosis():
    """Return the doctor's report for the comprehensive plan, made once per process."""
    from expclean_ros.core.doctor.diagnose import diagnose
    return diagnose(PLAN, torch_timeout_s=TORCH_TIMEOUT_S)


class ExpcleanCheck(DoctorCheck):
    """What a cleanup can do on this machine, as this user (``expclean doctor``)."""

    def category(self):
        return CATEGORY

    def check(self):
        """Say each check that does not work; an error where the plan needs it."""
        result, report = Result(), diagnosis()
        for check in report.checks:
            if check.name in report.missing:
                doctor_error(f'expclean: {check.line()}')
                result.add_error()
            elif check.state != WORKS:
                doctor_warn(f'expclean: {check.line()}')
                result.add_warning()
        return result


class ExpcleanReport(DoctorReport):
    """The ``EXPCLEAN`` section of ``ros2 doctor --report``: one line per check."""

    def category(self):
        return CATEGORY

    def report(self):
        report, section = diagnosis(), Report('EXPCLEAN')
        section.add_to_report('plan', report.summary())
        for check in report.checks:
            section.add_to_report(check.name, f'{check.state}: {check.reason}'
                                  + (f' -> {check.remedy}' if check.remedy else ''))
        return section
