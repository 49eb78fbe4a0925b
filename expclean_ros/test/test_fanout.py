"""Fan-out: every cleanup node on the graph is found, each try, and each answers or says not."""

import json
import os
import subprocess
import sys

import pytest

from conftest import NodeProcess, ros_env, wait_for

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
from expclean_ros.client import CleanupClient
for _ in range(int(sys.argv[1])):
    with CleanupClient(name='expclean_fanout') as client:
        print(json.dumps(client.find_cleanup_nodes(timeout_s=60)), flush=True)
"""


def test_discovery_finds_three_fresh_nodes_in_every_try(three_nodes):
    """Nodes started a moment before; each try is a fresh participant discovering from zero.

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
    # (a fresh participant can take up to ~3 s to discover a node here: Fast DDS re-announces)
    proc = expclean('nodes', '--expect', '4', '--wait', '6')
    assert proc.returncode == 1
    assert proc.stdout.split() == NAMES
    assert proc.stderr == 'expclean: error: 3 of 4 expected cleanup nodes found within 6 s\n'
    three_nodes[1].interrupt()
    proc = expclean('call', 'quick', '--all', '--expect', '3', '--wait', '5')
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert [line.split(': ')[:2] for line in lines] == [[NAMES[0], 'answered'],
                                                        [NAMES[2], 'answered']], lines
    assert proc.stderr == 'expclean: error: 2 of 3 expected cleanup nodes answered\n'
