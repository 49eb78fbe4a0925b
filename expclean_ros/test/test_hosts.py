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
Several hosts (helpers/hostrig.py).

A call across hosts, and a batch whose runs span three hosts, each host's part torn down by that
host's own cleanup node.
"""

import json
import os
import signal
import sys

import pytest

from helpers.nodes import NODE_COMMAND, wait_for
from helpers.hostrig import Rig, skip_reason

pytest.importorskip('rclpy', reason='rclpy (ROS 2 wheels) not installed')
_WHY = skip_reason()
pytestmark = pytest.mark.skipif(_WHY is not None, reason=str(_WHY))

EXPCLEAN = os.path.join(os.path.dirname(sys.executable), 'expclean')
REMOTE = [sys.executable, os.path.join(os.path.dirname(__file__), 'helpers', 'remote_exec.py')]
PORT = 7100
HOSTS = ('a', 'b', 'c')


def start_node(host, logs, namespace):
    log = open(logs / f'{namespace}.log', 'wb')
    proc = host.popen([*NODE_COMMAND, '--ros-args', '-r', f'__ns:=/{namespace}', '-p',
                       'publish_rate:=0.0'], stdout=log, stderr=log)
    log.close()
    return proc


@pytest.fixture(scope='module')
def rig(tmp_path_factory):
    """Three hosts, each with a cleanup node (/a, /b, /c) and an ssh stand-in."""
    logs = tmp_path_factory.mktemp('hosts')
    with Rig(HOSTS) as rig:
        for name in HOSTS:
            start_node(rig[name], logs, name)
            rig[name].popen([*REMOTE, 'serve', str(PORT)])
        ready = wait_for(lambda: all('ready:' in (logs / f'{n}.log').read_text()
                                     for n in HOSTS), 90)
        assert ready, [(logs / f'{n}.log').read_text()[-500:] for n in HOSTS]
        rig.logs = logs
        yield rig


def expclean_in(host, *args, timeout=300):
    return host.run([EXPCLEAN, *args], timeout=timeout)


def test_a_node_in_b_answers_a_call_from_a_and_a_never_sees_b(rig):
    done = expclean_in(rig['a'], 'call', '/b/cleanup', 'quick')
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith('quick ok in '), done.stdout
    seen_in_a = rig['a'].cmdlines()
    assert any('__ns:=/a' in c for c in seen_in_a), seen_in_a
    assert not any('__ns:=/b' in c or '__ns:=/c' in c for c in seen_in_a), seen_in_a
    assert any('__ns:=/b' in c for c in rig['b'].cmdlines())
    memory = expclean_in(rig['a'], 'memory', '/b/cleanup', '--json')
    assert json.loads(memory.stdout)['hostname'] == 'b'


_DIAGNOSTICS = """
import json
from diagnostic_msgs.msg import DiagnosticArray
from expclean_ros.ros.client import CleanupClient
with CleanupClient(name='expclean_diag') as client:
    client.subscribe(DiagnosticArray, '/diagnostics')
    got = client.collect(DiagnosticArray, '/diagnostics', duration_s=8)
print(json.dumps(sorted({(s.hardware_id, s.name) for _, m in got for s in m.status})))
"""


def test_memory_all_gives_one_line_per_host_and_diagnostics_stay_apart(rig):
    done = expclean_in(rig['a'], 'memory', '--all', '--expect', '3')
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(': ')[0] for line in lines] == [f'/{n}/cleanup ({n})' for n in HOSTS]
    assert all(' RAM ' in line and 'DDS shm' in line for line in lines), lines
    rows = [json.loads(line) for line in
            expclean_in(rig['a'], 'memory', '--all', '--json').stdout.splitlines()]
    assert [(r['node'], r['memory']['hostname']) for r in rows] == \
        [(f'/{n}/cleanup', n) for n in HOSTS]
    ros2 = os.path.join(os.path.dirname(sys.executable), 'ros2')
    if os.access(ros2, os.X_OK):
        done = rig['a'].run([ros2, 'cleanup', 'memory', '--all', '--expect', '3'])
        assert done.returncode == 0, done.stderr
        assert [line.split(': ')[0] for line in done.stdout.splitlines()] == \
            [f'/{n}/cleanup ({n})' for n in HOSTS]
    seen = rig['a'].run([sys.executable, '-c', _DIAGNOSTICS])
    assert seen.returncode == 0, seen.stderr
    statuses = [tuple(s) for s in json.loads(seen.stdout)]  # (hardware id, status name)
    assert {host for host, _ in statuses} == set(HOSTS), statuses
    for host in HOSTS:
        assert (host, 'cleanup: RAM') in statuses, statuses


def run_cmd(sleep):
    """One process per host per run: one here on a, one each on b and c by 'ssh'."""
    remote = ' && '.join(f'{" ".join(REMOTE)} call {rig_address(i)} {PORT} '
                         f'EXPCLEAN_RUN_ID=$EXPCLEAN_RUN_ID sleep {sleep}' for i in (1, 2))
    return ['sh', '-c', f'sleep {sleep} & {remote}']


def rig_address(index):
    from helpers.hostrig import SUBNET
    return f'{SUBNET}.{index + 1}'


def ledger_runs(path):
    with open(path) as f:
        return [r for r in map(json.loads, f) if r['type'] == 'run']


@pytest.mark.parametrize('choose', ['named', 'all'])
def test_a_batch_over_three_hosts_leaves_nothing_and_records_each_host(rig, tmp_path, choose):
    decoy = rig['b'].run([*REMOTE, 'call', rig_address(1), str(PORT), 'sleep', '999'])
    assert decoy.returncode == 0, decoy.stderr
    table = tmp_path / 'runs.csv'
    table.write_text('n\n1\n2\n3\n')
    ledger = tmp_path / 'ledger.jsonl'
    nodes = [a for n in HOSTS for a in ('--node', f'/{n}/cleanup')]
    if choose == 'all':
        nodes = ['--all', '--expect', '3']
    done = expclean_in(rig['a'], 'run', str(table), '--ledger', str(ledger), '--via-service',
                       *nodes, '--quick', '--wait', '0', '--', *run_cmd(1001))
    assert done.returncode == 0, done.stderr[-3000:]
    runs = ledger_runs(ledger)
    assert len(runs) == 3
    for run in runs:
        hosts = run['cleanup']['hosts']
        assert [h['node'] for h in hosts] == [f'/{n}/cleanup' for n in HOSTS]
        assert [h['hostname'] for h in hosts] == list(HOSTS)
        assert all(h['status'] == 'ok' for h in hosts), hosts
        for host in hosts[1:]:  # b's and c's sleep: stopped by b's and c's own node
            assert host['teardown']['stopped'] == 1, host['teardown']
            assert [p['name'] for p in host['teardown']['processes']] == ['sleep']
            assert host['memory']['before']['hostname'] == host['hostname']
        assert hosts[0]['teardown']['stopped'] == 0  # a's own was stopped by the run's teardown
        assert run['teardown']['left'] == 0 and run['leftovers'] == []
    for name in HOSTS:
        assert not any('sleep 1001' in c for c in rig[name].cmdlines()), name
    assert any('sleep 999' in c for c in rig['b'].cmdlines())  # b's untagged process lives
    assert not any('sleep 999' in c for c in rig['a'].cmdlines())


def test_a_host_that_does_not_answer_is_recorded_and_can_stop_the_batch(rig, tmp_path):
    table = tmp_path / 'runs.csv'
    table.write_text('n\n1\n2\n')
    nodes = ['--node', '/b/cleanup', '--node', '/gone/cleanup']
    marker = tmp_path / 'started'
    cmd = ['sh', '-c', f'touch {marker}; while [ -e {marker} ]; do sleep 0.05; done']
    for choice in ('go-on', 'stop'):
        log = rig.logs / 'gone.log'
        extra = start_node(rig['c'], rig.logs, 'gone')
        assert wait_for(lambda: 'ready:' in log.read_text(), 90), log.read_text()
        ledger = tmp_path / f'{choice}.jsonl'
        proc = rig['a'].popen([EXPCLEAN, 'run', str(table), '--ledger', str(ledger),
                               '--via-service', *nodes, '--quick', '--wait', '0',
                               '--service-timeout', '5', '--on-no-answer', choice, '--',
                               *cmd], stdout=-1, stderr=-1, text=True)
        assert wait_for(marker.exists, 120), proc.stderr
        # the node leaves while the first run is on: SIGINT to it, by its pid (our child's)
        child = int(open(f'/proc/{extra.pid}/task/{extra.pid}/children').read().split()[0])
        os.kill(child, signal.SIGINT)
        extra.wait(30)
        marker.unlink()
        if choice == 'go-on':
            assert wait_for(marker.exists, 120)
            marker.unlink()
        out, err = proc.communicate(timeout=300)
        runs = ledger_runs(ledger)
        if choice == 'go-on':
            assert proc.returncode == 0, err
            assert len(runs) == 2
        else:
            assert proc.returncode == 1, err
            assert 'NO ANSWER from /gone/cleanup' in err and '--on-no-answer stop' in err
            assert len(runs) == 1
        for run in runs:
            states = {h['node']: h['status'] for h in run['cleanup']['hosts']}
            assert states == {'/b/cleanup': 'ok', '/gone/cleanup': 'NO ANSWER'}
            assert not run['cleanup']['success']
