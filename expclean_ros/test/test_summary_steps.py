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
Say what was done.

The one line names every step that changed the machine, and ``expclean call --json`` carries the
steps of the cleanup it ran.
"""

import json
import os
import subprocess
import sys

import pytest

from helpers.nodes import wait_for
from expclean_ros.core.cleanup.plans import CleanupReport
from expclean_ros.core.step_result import StepResult
from expclean_ros.core.cleanup.summary import report_line

CLI = [sys.executable, '-c', 'import sys; from expclean_ros.cli import main; sys.exit(main())']


def _line(*steps):
    return report_line(CleanupReport('comprehensive', True, '', 0.5, steps, None, None))


def test_the_line_names_what_changed_the_machine():
    line = _line(StepResult('python_memory', 'ok', 'gc: 12 objects'),
                 StepResult('drop_caches', 'ok', 'synced and dropped page cache',
                            data={'freed_bytes': 392 * 2 ** 20}),
                 StepResult('gpu_reset', 'ok', 'reset GPU0', data={'reset': [0]}),
                 StepResult('hook_after[0]', 'ok', "'sync' exited 0"),
                 StepResult('dds_shm', 'ok', 'nothing stale', data={'files': 0}))
    assert 'drop_caches ok (392 MiB of cache freed)' in line, line
    assert 'gpu_reset ok (reset GPU0)' in line and 'hook_after[0] ok' in line, line
    assert 'python_memory' not in line and 'dds_shm' not in line, line  # nothing beyond us


def test_a_drop_caches_that_freed_nothing_is_still_said():
    line = _line(StepResult('drop_caches', 'ok', 'synced', data={'freed_bytes': 0}))
    assert 'drop_caches ok (0 MiB of cache freed)' in line, line


def test_call_json_carries_the_steps(start_node):
    pytest.importorskip('rclpy', reason='rclpy (ROS 2 wheels) not installed')
    ns = '/sum' + os.urandom(4).hex()
    node = start_node('--ros-args', '-r', f'__ns:={ns}')
    assert wait_for(lambda: 'ready' in node.log(), 60), node.log()
    out = subprocess.run([*CLI, 'call', f'{ns}/cleanup', 'quick', '--json'],
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    row = json.loads(out.stdout)
    assert row['success'] and row['plan'] == 'quick', row
    names = [s['name'] for s in row['steps']]
    assert 'python_memory' in names and 'teardown' in names, row
    assert all(s['status'] in ('ok', 'skipped', 'failed') for s in row['steps']), row
