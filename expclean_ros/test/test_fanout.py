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
Fan-out: every cleanup node on the graph is found, each try, and each answers or says not.

How often discovery with the default quiet window alone (no ``--expect``) finds every
node, and how long it takes against the moment the last node was seen, is a figure of
bench_cli_call.py: here each try says how many nodes it expects, so a loaded machine
that announces a node late makes a try slower, never wrong.
"""

import json
import os
import subprocess
import sys

import pytest

from helpers.nodes import NodeProcess, ros_env, wait_for

pytest.importorskip('rclpy', reason='rclpy (ROS 2 wheels) not installed')

EXPCLEAN = os.path.join(os.path.dirname(sys.executable), 'expclean')
NAMES = ['/fan0/cleanup', '/fan1/robot/cleanup', '/fan2/cleanup']
TRIES = 20


def expclean(*args, timeout=180):
    return subprocess.run([EXPCLEAN, *args], env=ros_env(), capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture(scope='module')
def three_nodes(tmp_path_factory):
    """Three namespaced nodes, started once for this module's tests."""
    logs = tmp_path_factory.mktemp('fanout')
    args = [('--ros-args', '-r', f'__ns:={name[:-8]}', '-p', 'publish_rate:=0.0')
            for name in NAMES]
    nodes = [NodeProcess(logs / f'node{i}.log', a) for i, a in enumerate(args)]
    try:
        assert wait_for(lambda: all('ready:' in n.log() for n in nodes), 90), \
            [n.log()[-500:] for n in nodes]
        yield nodes
    finally:
        for node in nodes:
            node.close()


_TRIES = """
import json, sys
from expclean_ros.ros.client import CleanupClient
for _ in range(int(sys.argv[1])):
    with CleanupClient(name='expclean_fanout') as client:
        print(json.dumps(client.find_cleanup_nodes(timeout_s=60, expect=3)), flush=True)
"""


def test_discovery_finds_three_fresh_nodes_in_every_try(three_nodes):
    """
    Nodes started a moment before; each try is a fresh participant discovering from zero.

    20 tries: 5 processes (as 5 CLI calls would be) of 4 tries each, side by side.
    """
    procs = [subprocess.Popen([sys.executable, '-c', _TRIES, str(TRIES // 5)], env=ros_env(),
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(5)]
    found = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
        found += [json.loads(line) for line in out.splitlines()]
    assert len(found) == TRIES
    assert found == [NAMES] * TRIES, [f for f in found if f != NAMES]


def test_call_all_says_which_answered_and_expect_fails_clearly(three_nodes):
    proc = expclean('call', 'quick', '--all', '--expect', '3', '--json')
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r['node'] for r in rows] == NAMES
    assert all(r['answered'] and r['message'].startswith('quick ok in ') for r in rows), rows
    # Fewer nodes than expected: the command waits its --wait, then says how many it
    # found (a fresh participant can take a few seconds to see a node: it may say fewer
    # than 3 on a loaded machine, never more, and the error matches what it printed).
    proc = expclean('nodes', '--expect', '4', '--wait', '6')
    assert proc.returncode == 1
    found = proc.stdout.split()
    assert found == sorted(found) and set(found) <= set(NAMES), proc.stdout
    assert proc.stderr == (f'expclean: error: {len(found)} of 4 expected cleanup nodes '
                           'found within 6 s\n'), proc.stderr
    three_nodes[1].interrupt()
    proc = expclean('call', 'quick', '--all', '--expect', '3', '--wait', '5')
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    if not lines:  # neither node seen within the 5 s: said as such
        assert proc.stderr.startswith('expclean: error: no cleanup node found'), proc.stderr
        return
    assert all(line.split(': ')[:2] in ([NAMES[0], 'answered'], [NAMES[2], 'answered'])
               for line in lines), lines
    assert [line.split(': ')[0] for line in lines] == sorted({line.split(': ')[0]
                                                              for line in lines}), lines
    assert proc.stderr == f'expclean: error: {len(lines)} of 3 expected cleanup nodes answered\n'
