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
``ros2 doctor`` knows expclean: its checks run, and ``--report`` has an EXPCLEAN section.

Through ros2doctor's own entry points (``ros2doctor.checks``, ``ros2doctor.report``), with the
real ``ros2`` command (upstream ros2cli, as ``make setup`` installs it beside
``../shared/upstream``). Where ros2doctor is not installed nothing loads them, and this skips.
"""

import re
import subprocess
from importlib.metadata import entry_points

import pytest

from helpers import rosproc
from helpers.nodes import ros_env

REASON = rosproc.missing_reason() or (
    '' if rosproc.installed('ros2doctor') else rosproc.not_installed('ros2doctor'))
pytestmark = pytest.mark.skipif(bool(REASON), reason=REASON)


def _group(name):
    found = entry_points()
    found = found.select(group=name) if hasattr(found, 'select') else found.get(name, [])
    return {ep.name: ep.value for ep in found}


def ros2_doctor(*args):
    env = ros_env()
    try:
        return subprocess.run([rosproc.ros2(), 'doctor', *args], env=env, capture_output=True,
                              text=True, timeout=240, stdin=subprocess.DEVNULL)
    finally:
        rosproc.stop_daemon(env)  # ros2doctor's graph checks start this domain's daemon


def test_the_entry_points_are_registered_and_load():
    checks, reports = _group('ros2doctor.checks'), _group('ros2doctor.report')
    assert checks['ExpcleanCheck'] == 'expclean_ros.ros2doctor_plugin:ExpcleanCheck'
    assert reports['ExpcleanReport'] == 'expclean_ros.ros2doctor_plugin:ExpcleanReport'
    from expclean_ros.ros2doctor_plugin import ExpcleanCheck, ExpcleanReport
    assert ExpcleanCheck().category() == ExpcleanReport().category() == 'expclean'


def test_ros2_doctor_report_has_an_expclean_section():
    done = ros2_doctor('--report')
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    section = done.stdout.split('EXPCLEAN', 1)
    assert len(section) == 2, done.stdout
    body = section[1].split('\n\n', 1)[0]
    assert re.search(r'^plan +: (ready|NOT ready) for plan comprehensive', body, re.M), body
    for name in ('memory', 'process_table', 'drop_caches'):
        assert re.search(rf'^{name} +: (works|degraded|unavailable): ', body, re.M), body


def test_ros2_doctor_runs_the_expclean_check():
    from expclean_ros.core.doctor.diagnose import diagnose
    done = ros2_doctor()
    out = done.stdout + done.stderr
    # ours among them; upstream checks that cannot run here (no network) are not counted
    total = len(_group('ros2doctor.checks')) - out.count('Fail to call ')
    assert f'{total} checks' in out or f'/{total} check' in out, out
    # what expclean doctor finds not working (here: at least no GPU), ros2 doctor says too
    report = diagnose('comprehensive', torch_timeout_s=15.0)
    stable = [c for c in report.checks if c.state == 'unavailable' and c.name in ('nvml', 'gpus')]
    for check in stable:
        assert f'expclean: {check.state:<11} {check.name}:' in out, out
