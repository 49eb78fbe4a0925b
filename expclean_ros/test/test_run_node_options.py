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
``expclean run`` node options are checked before anything starts, with the rule in the message.

The options: --node, --all, --expect, --on-no-answer, --shard.
"""

import os
import subprocess
import sys

import pytest

EXPCLEAN = os.path.join(os.path.dirname(sys.executable), 'expclean')


@pytest.mark.parametrize('args, says', [
    (['--node', '/b/cleanup'], '--node and --all name cleanup nodes for --via-service'),
    (['--all'], '--node and --all name cleanup nodes for --via-service'),
    (['--via-service', '--all', '--node', '/b/cleanup'], 'either --all or --node'),
    (['--via-service', '--expect', '2'], '--expect N goes with --all'),
    (['--via-service', '--all', '--expect', '-1'], '--expect N goes with --all'),
    (['--via-service', '--node', '/b/cleanup', '--node', 'b/cleanup'], 'names a node twice'),
    (['--via-service', '--node', '/b/9cleanup'], 'is not a node name'),
    (['--via-service', '--node', '/b/clean;rm -rf'], 'is not a node name'),
    (['--shard', '1/1'], 'K must be at least 0 and below N'),
])
def test_bad_node_options_are_errors_before_anything_runs(tmp_path, args, says):
    table = tmp_path / 'runs.csv'
    table.write_text('n\n1\n')
    marker = tmp_path / 'ran'
    done = subprocess.run([EXPCLEAN, 'run', str(table), '--ledger', str(tmp_path / 'l.jsonl'),
                           *args, '--', 'touch', str(marker)], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith('expclean: error: ') and says in done.stderr, done.stderr
    assert not marker.exists() and not (tmp_path / 'l.jsonl').exists()


def test_on_no_answer_takes_only_its_two_choices(tmp_path):
    done = subprocess.run([EXPCLEAN, 'run', 'x.csv', '--ledger', 'l', '--on-no-answer', 'maybe',
                           '--', 'true'], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60, cwd=tmp_path)
    assert done.returncode == 2 and "invalid choice: 'maybe'" in done.stderr
