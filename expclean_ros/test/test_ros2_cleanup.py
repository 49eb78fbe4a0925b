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

"""``ros2 cleanup ...`` through the upstream ros2cli: the same verbs as ``expclean``."""

import json
import os
import subprocess
import sys

import pytest

from helpers import rosproc
from helpers.nodes import ros_env

pytest.importorskip('rclpy', reason='rclpy (ROS 2 wheels) not installed')
pytest.importorskip('ros2cli', reason=rosproc.not_installed('ros2cli'))

ROS2 = os.path.join(os.path.dirname(sys.executable), 'ros2')
if not os.access(ROS2, os.X_OK):
    pytest.skip(f'no ros2 command next to {sys.executable}', allow_module_level=True)


def ros2(*args, timeout=120, env=None):
    return subprocess.run([ROS2, *args], env=env or ros_env(), capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def complete(line, tmp_path):
    """Return what argcomplete offers for ``line`` (as bash completion would ask)."""
    out = tmp_path / 'completions'
    env = ros_env(_ARGCOMPLETE='1', COMP_LINE=line, COMP_POINT=str(len(line)),
                  _ARGCOMPLETE_STDOUT_FILENAME=str(out))
    proc = subprocess.run([ROS2], env=env, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    return out.read_text().split()


def test_verbs_are_registered_with_their_help():
    proc = ros2('cleanup', '--help', timeout=60)
    assert proc.returncode == 0, proc.stderr
    for verb in ('call', 'between-runs', 'memory', 'teardown', 'nodes', 'doctor', 'report'):
        assert f'\n  {verb} ' in proc.stdout, proc.stdout
    proc = ros2('cleanup', 'doctor', '--no-ros', '--plan', 'quick', '--json', timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)['plan'] == 'quick'


def test_ros2_cleanup_against_a_namespaced_node(start_node, tmp_path):
    start_node('--ros-args', '-r', '__ns:=/robot1', '-p', 'publish_rate:=0.0')
    proc = ros2('cleanup', 'call', '/robot1/cleanup', 'comprehensive')
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith('comprehensive ok in '), proc.stdout
    proc = ros2('cleanup', 'nodes', '--spin-time', '10')
    assert proc.returncode == 0 and proc.stdout.split() == ['/robot1/cleanup'], proc.stderr
    proc = ros2('cleanup', 'memory', '/robot1/cleanup', '--json')
    assert proc.returncode == 0 and json.loads(proc.stdout)['ram']['total_bytes'] > 0
    proc = ros2('cleanup', 'teardown', '/robot1/cleanup', '--tag', 'run-' + '0' * 32,
                '--dry-run')
    assert proc.returncode == 0 and proc.stdout.startswith('would stop 0 processes'), \
        (proc.stdout, proc.stderr)
    assert complete('ros2 cleanup ca', tmp_path) == ['call']
    assert complete('ros2 cleanup memory /rob', tmp_path) == ['/robot1/cleanup']


def test_errors_are_one_line_with_the_ros2_prefix():
    proc = ros2('cleanup', 'call', '/nobody_here/cleanup', 'quick', timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.startswith('ros2 cleanup: error: no service /nobody_here/cleanup/quick')
    proc = ros2('cleanup', 'call', 'bad name', 'quick', timeout=60)
    assert proc.returncode == 1 and "'bad name' is not a node name" in proc.stderr


def test_readme_constants_agree_with_ros2_interface_show():
    """
    The table of enumerated fields lists exactly what ``ros2 interface show`` prints.

    The table is in docs/interface.md.
    """
    import re
    from helpers.paths import REPO_ROOT
    with open(os.path.join(REPO_ROOT, 'docs', 'interface.md')) as f:
        rows = re.findall(r'^\| `(\w+)\.(\w+)` \| (.*) \|$', f.read(), flags=re.M)
    assert {r[0] for r in rows} == {'CleanupReport', 'StepResult', 'ProcessInfo', 'Teardown',
                                    'MemoryUsage'}, rows
    for type_name, field, values in rows:
        kind = 'srv' if type_name == 'Teardown' else 'msg'
        proc = ros2('interface', 'show', f'expclean_interfaces/{kind}/{type_name}', timeout=60)
        assert proc.returncode == 0, proc.stderr
        shown = set(re.findall(r'^string (\w+=\w+)', proc.stdout, flags=re.M))
        assert set(re.findall(r'`(\w+=\w+)`', values)) == shown, (type_name, shown)
        assert re.search(rf'^string {field}\b', proc.stdout, flags=re.M), (type_name, field)
    for type_name in ('MemoryUsage', 'CleanupReport'):
        proc = ros2('interface', 'show', f'expclean_interfaces/msg/{type_name}', timeout=60)
        assert re.search(r'^std_msgs/Header header', proc.stdout, flags=re.M), proc.stdout


def test_ros2_cleanup_report_is_expclean_report(tmp_path):
    from helpers.report_ledgers import expclean, generated_ledger
    from helpers.report_page import Page
    ledger = generated_ledger(tmp_path / 'l.jsonl', 5)
    proc = ros2('cleanup', 'report', ledger, '--json', timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == json.loads(expclean('report', ledger, '--json').stdout)
    page = tmp_path / 'r.html'
    proc = ros2('cleanup', 'report', ledger, '-o', str(page), timeout=60)
    assert proc.returncode == 0 and len(Page(page.read_text()).rows) == 5, proc.stderr
    proc = ros2('cleanup', 'report', str(tmp_path / 'none.jsonl'), timeout=60)
    assert proc.returncode == 1 and 'ros2 cleanup: error: ledger' in proc.stderr
