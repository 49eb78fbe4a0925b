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
A hostile peer on the node's ROS domain: every abuse is refused, every decoy survives.

ROS 2 has no authentication by default, so any peer may set parameters and call
services. This module is that peer (a plain rclpy client in the test process)
against a real node, while real decoys run: a plain process without ROS
variables, one with ROS variables but no ``ROS_DOMAIN_ID``, one of user
``nobody`` (as root), one of another ROS domain that carries a run tag, and the
caller itself. Throughout, the node must keep answering ``~/get_memory`` and keep
publishing ``~/memory``, in order (how fast it answers and how regularly it publishes
under abuse, against an idle node: bench_node.py).
"""

import os
import shutil
import subprocess
import sys
import time

import pytest

from helpers import rosproc
from helpers.nodes import alive, serve_node, start_ticks, wait_execed

rclpy = pytest.importorskip('rclpy', reason='rclpy (ROS 2 wheels) not installed')
from expclean_interfaces.msg import MemoryUsage  # noqa: E402
from expclean_interfaces.srv import CleanupBetweenRuns, GetMemoryUsage, Teardown  # noqa: E402
from rcl_interfaces.srv import GetParameters  # noqa: E402
from rclpy.qos import QoSProfile  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402
from helpers.params import _set  # noqa: E402

from expclean_ros.core.procs import proctable  # noqa: E402
from expclean_ros.ros.qos import SERVICE_QOS  # noqa: E402
from expclean_ros.core.runs.tagged_start import new_run_id  # noqa: E402

SLEEP = 'import sys, time; time.sleep(300)'
BAIT = 'a' * 40 + '!'  # makes (a|aa)+$ backtrack for minutes
READ_ONLY = {
    'hooks.before': ['MARK'], 'hooks.after': ['MARK'], 'hooks.timeout_s': 1.0,
    'hooks.allow_as_root': True, 'teardown.tag_variable': 'HOME',
    'teardown.protect': ['^$'], 'teardown.patterns': ['.'],
    'teardown.allow_request_patterns': True, 'teardown.run_tag_format': '.*',
    'teardown.allow_other_users': True, 'allow_gpu_reset': True,
    'allow_system_caches': False, 'shm_cleanup': False,
    # who the node's launch is: a peer naming a process it controls (whose exit would make
    # the node stop a run and exit), a run or a cgroup is refused
    'launch.pid': 1, 'launch.run_tag': 'run-' + '0' * 32, 'launch.cgroup': '/sys/fs/cgroup',
}


def _reap(*procs):
    """Stop (by PID: our own children) and reap each process that is still running."""
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait(10)


def _other_domain():
    return (int(os.environ['ROS_DOMAIN_ID']) + 1) % 102


class Decoys:
    """Processes a teardown from a peer must never reach; all are ours to stop at the end."""

    def __init__(self):
        self.procs = {}
        clean = {'PATH': os.environ.get('PATH', '/usr/bin:/bin'), 'HOME': '/tmp'}
        ros = dict(clean, ROS_DISTRO='kilted', AMENT_PREFIX_PATH=sys.prefix,
                   ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST')
        self._start('plain', [sys.executable, '-S', '-c', SLEEP, 'decoy', BAIT], clean)
        self._start('domain_unset', [sys.executable, '-S', '-c', SLEEP, 'decoy', BAIT], ros)
        self._start('other_domain', [sys.executable, '-S', '-c', SLEEP, 'decoy', BAIT],
                    dict(ros, ROS_DOMAIN_ID=str(_other_domain()), EXPCLEAN_RUN_ID=new_run_id()))
        if os.geteuid() == 0:
            self._start('nobody', ['setpriv', '--reuid', 'nobody', '--regid', 'nogroup',
                                   '--clear-groups', 'sleep', '300'], clean)

    def wait_running(self):
        """Until each shows its own command line and environment (past execve)."""
        for role, p in self.procs.items():
            assert wait_execed(p.pid, 'sleep 300' if role == 'nobody' else BAIT), role

    def _start(self, role, cmd, env):
        self.procs[role] = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL, start_new_session=True)

    def pid(self, role):
        return self.procs[role].pid

    def dead(self):
        return sorted(role for role, p in self.procs.items() if p.poll() is not None)

    def close(self):
        _reap(*self.procs.values())


@pytest.fixture
def decoys():
    d = Decoys()
    try:
        d.wait_running()
        yield d
    finally:
        d.close()


class Watch:
    """Every ~/memory message, kept in the reader's history; stamps show the node published."""

    def __init__(self, client, node='/cleanup'):
        self.client = client
        self.node = node
        self.stamps = []
        qos = QoSProfile(depth=2000)
        self._sub = client.node.create_subscription(
            MemoryUsage, f'{node}/memory', lambda m: self.stamps.append(_seconds(m)), qos)

    def responsive(self):
        """~/get_memory answers (the limit only turns a hang into a failure)."""
        response = self.client.call(GetMemoryUsage, f'{self.node}/get_memory',
                                    GetMemoryUsage.Request(), timeout_s=30.0, wait_s=20)
        assert response.success, response.message

    def keeps_publishing(self, more=3, timeout_s=60.0):
        """
        ``more`` messages arrive after those seen so far.

        And every stamp is later than the one before: the publisher survived what came before, in
        order.
        """
        seen = len(self.stamps)
        deadline = time.monotonic() + timeout_s
        while len(self.stamps) < seen + more and time.monotonic() < deadline:
            self.client._executor.spin_once(timeout_sec=0.05)
        assert len(self.stamps) >= seen + more, f'~/memory stopped after {seen} messages'
        stamps = self.stamps
        assert all(a < b for a, b in zip(stamps, stamps[1:])), f'stamps out of order: {stamps}'


@pytest.fixture(scope='module')
def _node_10hz(tmp_path_factory):
    yield from serve_node(tmp_path_factory, '/shared_attacked', '-p', 'publish_rate:=10.0')


@pytest.fixture
def node_10hz(_node_10hz):
    """One node publishing at 10 Hz for the tests whose every abuse it refuses."""
    return alive(_node_10hz)


def _seconds(msg):
    stamp = (msg.header if hasattr(msg, 'header') else msg).stamp
    return stamp.sec + stamp.nanosec * 1e-9


def _teardown(client, at='/cleanup', **fields):
    return client.call(Teardown, f'{at}/teardown', Teardown.Request(**fields),
                       timeout_s=30, wait_s=20)


def _get(client, names):
    response = client.call(GetParameters, '/cleanup/get_parameters',
                           GetParameters.Request(names=names), wait_s=20)
    return [_value(v) for v in response.values]


def _value(v):
    return (v.bool_value, v.integer_value, v.double_value, v.string_value,
            list(v.string_array_value))


def _parent(pid):
    return proctable.read_proc(pid).ppid


def test_read_only_parameters_refuse_every_peer(start_node, client, decoys, tmp_path):
    """Hooks, protect list, tag variable, patterns and privileges cannot be changed remotely."""
    start_node('--ros-args', '-p', 'publish_rate:=10.0')
    watch = Watch(client)
    watch.responsive()
    marker = tmp_path / 'hook-ran'
    before = _get(client, list(READ_ONLY))
    for name, value in READ_ONLY.items():
        if value == ['MARK']:
            value = [f'id > {marker}']
        result = _set(client, name, value)
        assert not result.successful and 'read-only' in result.reason, (name, result.reason)
    assert _get(client, list(READ_ONLY)) == before
    quick = client.call(Trigger, '/cleanup/quick', Trigger.Request(), timeout_s=60)
    assert quick.success, quick.message
    comprehensive = client.call(Trigger, '/cleanup/comprehensive', Trigger.Request(),
                                timeout_s=90)
    assert comprehensive.success, comprehensive.message
    assert not marker.exists(), 'a hook set by a peer ran'
    # The settable knobs stay settable, and a run tag must still look like one.
    assert _set(client, 'ram_warn_percent', 80.0).successful
    refused = _set(client, 'teardown.run_tag', os.environ.get('HOME', '/root'))
    assert not refused.successful and 'does not look like a run tag' in refused.reason
    watch.responsive()
    assert decoys.dead() == []
    watch.keeps_publishing()


def test_writable_parameters_are_bounded(node_10hz, client):
    """Every writable number refuses values outside its range: no 1 GHz timer, no 1e9 s wait."""
    from expclean_ros.ros import parameters as settings
    watch = Watch(client, node_10hz.name)
    writable = [s for s in settings.PARAMETERS if not s.read_only and s.low is not None]
    assert {'publish_rate', 'diagnostics.rate_hz', 'diagnostics.window',
            'settle.comprehensive_cap_s'} <= {s.name for s in writable}
    for spec in writable:
        kind = type(spec.default)
        for value in (kind(spec.high * 1000 + 1), kind(spec.low - 1000)):
            result = _set(client, spec.name, value, node_10hz.name)
            assert not result.successful and spec.name in result.reason, (spec.name, value,
                                                                          result.reason)
    assert not _set(client, 'settle.interval_s', float('nan'), node_10hz.name).successful
    watch.responsive()
    watch.keeps_publishing()


def test_teardown_requests_name_only_experiment_processes(node_10hz, client, decoys):
    """Foreign tags, foreign roots, reused pids and request patterns are refused."""
    node = node_10hz
    watch = Watch(client, node.name)
    watch.responsive()
    victim = subprocess.Popen([sys.executable, '-S', '-c', SLEEP], stdin=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        home = os.environ.get('HOME', '/root')
        abuses = [
            (dict(run_tag=home), 'does not look like a run tag'),
            (dict(run_tag='run-' + 'g' * 32), 'does not look like a run tag'),
            (dict(run_tag='x' * 10_000), 'at most 128'),
            (dict(patterns=['.']), 'patterns in a request are off'),
            (dict(patterns=['.'] * 10_000), 'patterns in a request are off'),
            (dict(root_pid=victim.pid), 'without root_start_time'),
            (dict(root_pid=victim.pid, root_start_time=start_ticks(victim.pid) + 1),
             'belongs to another process'),
            (dict(root_pid=1, root_start_time=start_ticks(1)), 'root_pid'),
            (dict(root_pid=node.pid, root_start_time=start_ticks(node.pid)),
             'this process, the caller or one of their ancestors'),
            (dict(root_pid=_parent(node.pid), root_start_time=start_ticks(_parent(node.pid))),
             'this process, the caller or one of their ancestors'),
        ]
        if 'nobody' in decoys.procs:
            pid = decoys.pid('nobody')
            abuses.append((dict(root_pid=pid, root_start_time=start_ticks(pid)),
                           'belongs to another user'))
        for fields, reason in abuses:
            for dry_run in (True, False):
                response = _teardown(client, node.name, dry_run=dry_run, **fields)
                shown = {k: (v if len(str(v)) < 80 else f'{str(v)[:40]}...')
                         for k, v in fields.items()}
                assert not response.success, (shown, response.message)
                assert response.message.startswith('refused:'), (shown, response.message)
                assert reason in response.message, (shown, response.message)
                assert response.stopped == 0 and not response.processes
            watch.responsive()
        assert victim.poll() is None, 'a refused request stopped its target'
        assert decoys.dead() == []
        # The legitimate path still works: the victim's own pid with its start time.
        response = _teardown(client, node.name, root_pid=victim.pid,
                             root_start_time=start_ticks(victim.pid))
        assert response.success and response.stopped == 1, response.message
        assert victim.wait(10) is not None
        assert decoys.dead() == []
        watch.keeps_publishing()
    finally:
        _reap(victim)


def test_request_patterns_when_allowed_reach_only_this_domain(start_node, client, decoys):
    """With patterns allowed, a pattern still spares every process not provably ours."""
    start_node('--ros-args', '-p', 'publish_rate:=10.0',
               '-p', 'teardown.allow_request_patterns:=true')
    watch = Watch(client)
    watch.responsive()
    bait = subprocess.Popen([sys.executable, '-S', '-c', SLEEP, 'bait', BAIT],
                            env=dict(os.environ), stdin=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        assert wait_execed(bait.pid, BAIT), 'the bait never ran'
        for fields, reason in ((dict(patterns=['.'] * 10_000), '10000 patterns given'),
                               (dict(patterns=['a' * 300]), 'at most 256'),
                               (dict(patterns=['(a|aa)+$']), 'ran out of time'),
                               (dict(patterns=['ros2 (']), 'invalid pattern')):
            response = _teardown(client, **fields)
            assert not response.success and reason in response.message, response.message
            assert response.stopped == 0
            watch.responsive()
        # Even '.' reaches only processes that carry our ROS_DOMAIN_ID (or a tag on
        # domain 0); listed, never stopped here: other processes of this test run qualify.
        response = _teardown(client, patterns=['.'], dry_run=True, caller_pid=os.getpid())
        assert response.success, response.message
        chosen = {p.pid for p in response.processes}
        assert bait.pid in chosen
        assert not chosen & {p.pid for p in decoys.procs.values()}, response.message
        domain = os.environ['ROS_DOMAIN_ID']
        for pid in chosen:
            with open(f'/proc/{pid}/environ', 'rb') as f:
                env = dict(e.split(b'=', 1) for e in f.read().split(b'\0') if b'=' in e)
            assert env.get(b'ROS_DOMAIN_ID') == domain.encode(), (pid, response.message)
        response = _teardown(client, patterns=['bait'], caller_pid=os.getpid())
        assert response.success and [p.pid for p in response.processes] == [bait.pid]
        assert bait.wait(10) is not None
        assert decoys.dead() == []
        watch.keeps_publishing()
    finally:
        _reap(bait)


def test_a_burst_of_hostile_calls_leaves_the_node_serving(node_10hz, client, decoys):
    """
    200 concurrent abusive calls.

    Nothing is stopped, every one is answered, the node keeps serving.
    """
    watch = Watch(client, node_10hz.name)
    watch.responsive()
    node = client.node
    pid = decoys.pid('plain')
    requests = [Teardown.Request(run_tag=os.environ.get('HOME', '/root')),
                Teardown.Request(patterns=['.']),
                Teardown.Request(root_pid=pid),
                Teardown.Request(root_pid=pid, root_start_time=start_ticks(pid) + 1)]
    # Clients in one process share their replies' topic: each needs the deep queue.
    clients = [node.create_client(Teardown, f'{node_10hz.name}/teardown', qos_profile=SERVICE_QOS)
               for _ in range(4)]
    assert all(c.wait_for_service(timeout_sec=20) for c in clients)
    futures = [clients[i % 4].call_async(requests[i % 4]) for i in range(200)]
    deadline = time.monotonic() + 120  # only a hang ends the wait
    while not all(f.done() for f in futures) and time.monotonic() < deadline:
        client._executor.spin_once(timeout_sec=0.05)
    answered = [f.result() for f in futures if f.done()]
    assert len(answered) == 200, f'{len(answered)} of 200 hostile calls answered'
    # Deep service queues: a call that meets another's check in progress is answered
    # "busy:", which stops nothing either.
    assert all(not a.success and a.message.startswith(('refused:', 'busy:'))
               for a in answered), {a.message for a in answered}
    assert any(a.message.startswith('refused:') for a in answered)
    assert all(a.stopped == 0 for a in answered)
    for c in clients:
        node.destroy_client(c)
    watch.responsive()
    assert decoys.dead() == []
    watch.keeps_publishing()


CALLER = """
import os, sys
from expclean_interfaces.srv import CleanupBetweenRuns
from expclean_ros.ros.client import CleanupClient
with CleanupClient() as client:
    response = client.call(CleanupBetweenRuns, '/cleanup/between_runs', CleanupBetweenRuns.Request(
        run_index=0, total_runs=3, comprehensive=False, caller_pid=os.getpid()), wait_s=20,
        timeout_s=60)
print(response.message)
sys.exit(0 if response.success else 1)
"""


def _victim(name):
    """Return a sleeper whose command line carries ``name``, once it shows it (past execve)."""
    victim = subprocess.Popen([sys.executable, '-S', '-c', SLEEP, name],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    assert wait_execed(victim.pid, name), f'victim {victim.pid} never ran'
    return victim


def _run(cmd, tmp_path, script=None):
    if script is not None:
        path = tmp_path / script
        path.write_text(CALLER)
        cmd = [sys.executable, str(path)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def test_callers_are_spared_when_configured_patterns_match_them(start_node, tmp_path):
    """
    Callers survive patterns that match them; what else matches is stopped.

    The expclean CLI and an experiment script calling ~/between_runs survive patterns
    that match their own command lines; what else matches is stopped.
    """
    start_node('--ros-args', '-p',
               'teardown.patterns:=["expclean call", "loop_caller_xyz", "victim_xyz"]')
    victims = [_victim('victim_xyz')]
    try:
        cli = _run([os.path.join(os.path.dirname(sys.executable), 'expclean'), 'call', 'quick'],
                   tmp_path)
        assert cli.returncode == 0, (cli.stdout, cli.stderr)
        assert 'stopped 1 process' in cli.stdout, cli.stdout
        assert victims[0].wait(10) is not None
        victims.append(_victim('victim_xyz'))
        loop = _run(None, tmp_path, script='loop_caller_xyz.py')
        assert loop.returncode == 0, (loop.stdout, loop.stderr)
        assert 'stopped 1 process' in loop.stdout, loop.stdout
        assert victims[1].wait(10) is not None
    finally:
        _reap(*victims)


@pytest.mark.skipif(shutil.which('ros2', path=os.path.dirname(sys.executable)) is None,
                    reason=rosproc.not_installed('ros2cli'))
def test_ros2_service_call_is_spared_by_a_ros2_pattern(start_node, tmp_path):
    """`ros2 service call /cleanup/quick` with teardown.patterns ['ros2'] never kills itself."""
    start_node('--ros-args', '-p', 'teardown.patterns:=["ros2"]')
    ros2 = os.path.join(os.path.dirname(sys.executable), 'ros2')
    victim = _victim('ros2-victim')
    try:
        call = subprocess.run([ros2, 'service', 'call', '/cleanup/quick', 'std_srvs/srv/Trigger'],
                              capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
        assert call.returncode == 0, (call.stdout, call.stderr)
        assert 'success=True' in call.stdout and 'stopped 1 process' in call.stdout, call.stdout
        assert victim.wait(10) is not None
    finally:
        _reap(victim)


def test_a_peer_given_caller_pid_only_spares(start_node, client, decoys):
    """
    caller_pid of ~/between_runs can spare a process, never choose one.

    Pid 1, a pid past the kernel's range and a decoy's pid leave the configured selection as it
    was.
    """
    start_node('--ros-args', '-p', 'teardown.patterns:=["victim_xyz"]')
    for caller in (1, 2 ** 32 - 1, decoys.pid('plain')):
        victim = _victim('victim_xyz')
        try:
            response = client.call(CleanupBetweenRuns, '/cleanup/between_runs',
                                   CleanupBetweenRuns.Request(
                                       run_index=0, total_runs=3, comprehensive=False,
                                       caller_pid=caller), timeout_s=60, wait_s=20)
            assert response.success, (caller, response.message)
            assert response.report.processes_stopped == 1, (caller, response.message)
            assert victim.wait(10) is not None
            assert decoys.dead() == []
        finally:
            _reap(victim)
