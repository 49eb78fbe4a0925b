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
"""The first hour's small answers: a missing table, a command that cannot start, a bad rate."""

import subprocess

from helpers.cli import FAST, expclean
from helpers.nodes import NODE_COMMAND, ros_env


def test_a_missing_table_is_named_with_what_to_give(tmp_path):
    ledger = tmp_path / 'l.jsonl'
    done = expclean('run', str(tmp_path / 'nothere.csv'), '--ledger', str(ledger), *FAST,
                    '--', 'true')
    assert done.returncode == 1
    assert done.stderr.startswith('expclean: error: no runs table ') and 'nothere.csv' in \
        done.stderr and '.csv or .yaml' in done.stderr and 'Errno' not in done.stderr
    assert not ledger.exists()


def test_a_command_that_cannot_start_shows_no_exit_code(tmp_path):
    (tmp_path / 'runs.csv').write_text('x\n1\n')
    done = expclean('run', str(tmp_path / 'runs.csv'), '--ledger', str(tmp_path / 'l.jsonl'),
                    *FAST, '--', str(tmp_path / 'no-such-program'))
    assert done.returncode == 3, done.stderr
    row = [line.split() for line in done.stdout.splitlines() if line.split()[:2] == ['1',
                                                                                     'error']]
    assert row and row[0][2] == '-', done.stdout
    assert 'None' not in done.stdout


def test_a_bad_rate_says_what_it_takes():
    done = subprocess.run([*NODE_COMMAND, '--ros-args', '-p', 'publish_rate:=-1'],
                          env=ros_env(), capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 1, done.stderr
    assert 'publish_rate must be a number' in done.stderr and 'from 0 to 50' in done.stderr
    assert 'Traceback' not in done.stderr
