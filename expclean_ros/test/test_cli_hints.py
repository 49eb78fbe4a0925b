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
``expclean`` as a newcomer meets it: wrong names, help, ``memory --watch`` piped.

A wrong or missing node name gets the nodes really seen (never the name asked for, in any verb)
and the nearest real one ("did you mean /robot1/cleanup?"); every verb's help fits that verb.
"""

import re

import pytest

from helpers.cli import CLI, expclean

pytest.importorskip('rclpy', reason='rclpy (ROS 2 wheels) not installed')


def seen(stderr):
    """Return the names after 'Cleanup nodes seen:' in an error."""
    match = re.search(r'Cleanup nodes seen: ([^;]*);', stderr)
    assert match, stderr
    return match.group(1).split(', ')


@pytest.fixture
def robot1(start_node):
    node = start_node('--ros-args', '-r', '__ns:=/robot1')
    found = expclean('nodes', '--expect', '1', '--wait', '60')
    assert found.returncode == 0 and found.stdout.split() == ['/robot1/cleanup'], found.stderr
    return node


def test_a_namespace_without_cleanup_is_answered_did_you_mean(robot1):
    for verb in (['call', '/robot1', 'quick'], ['memory', '/robot1'],
                 ['teardown', '/robot1', '--tag', 'run-0123', '--dry-run']):
        proc = expclean(*verb)
        assert proc.returncode == 1, proc.stdout
        assert proc.stderr.startswith('expclean: error: no service /robot1/'), proc.stderr
        assert 'did you mean /robot1/cleanup?' in proc.stderr, proc.stderr
        assert seen(proc.stderr) == ['/robot1/cleanup']


def test_a_typo_is_answered_did_you_mean(robot1):
    proc = expclean('call', '/robot1/claenup', 'quick')
    assert proc.returncode == 1 and 'did you mean /robot1/cleanup?' in proc.stderr, proc.stderr


def test_a_missing_name_is_never_listed_as_seen(robot1):
    for name in ('/nope', '/robot2/cleanup'):
        for verb in (['memory', name], ['call', name, 'quick'], ['between-runs', name, '0', '2']):
            proc = expclean(*verb)
            assert proc.returncode == 1, proc.stdout
            assert seen(proc.stderr) == ['/robot1/cleanup'], proc.stderr
    # a node that is to be started is not "meant" as another: its start command is the hint
    assert 'start /robot2/cleanup with: ' in proc.stderr, proc.stderr


def test_memory_watch_piped_prints_one_timestamped_line_per_reading(robot1):
    proc = expclean('memory', '/robot1/cleanup', '--watch', '--count', '3', '--interval', '0.1')
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 3, proc.stdout
    for line in lines:
        assert re.match(r'\d\d:\d\d:\d\d /robot1/cleanup \(.+\): RAM ', line), line
    assert '\x1b' not in proc.stdout  # no terminal control when piped


def test_each_verbs_help_fits_that_verb():
    memory = expclean('memory', '--help').stdout
    assert 'longest cleanup' not in memory and 'for call' not in memory, memory
    assert re.search(r'--interval INTERVAL\s+seconds between readings \(default: 1\)', memory)
    assert re.search(r'--timeout TIMEOUT\s+seconds to wait for each reading \(default: 30\)',
                     memory), memory
    nodes = expclean('nodes', '--help').stdout
    assert 'for call' not in nodes and 'answer' not in nodes, nodes
    call = ' '.join(expclean('call', '--help').stdout.split())
    assert 'longest cleanup' in call and 'answer' in call, call


def test_memory_watch_on_a_terminal_redraws_in_place_with_the_time(robot1, tmp_path):
    from helpers import rosproc
    from helpers.nodes import ros_env
    from expclean_ros.cli.memory_verb import REDRAW
    watch = rosproc.PtyProcess([*CLI, 'memory', '/robot1/cleanup', '--watch', '--count', '2',
                                '--interval', '0.1'], ros_env(), tmp_path / 'watch.log')
    try:
        assert watch.wait(120) == 0, watch.text
        assert watch.wait_for('DDS shm', 10), watch.text
    finally:
        watch.close()
    assert watch.text.count(REDRAW) == 2, repr(watch.text)
    assert len(re.findall(r'/robot1/cleanup at \d\d:\d\d:\d\d, every 0.1 s', watch.text)) == 2
