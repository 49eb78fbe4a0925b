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
Cleanup node cost: service round trips, idle CPU/RSS and start-up vs a trivial rclpy node.

The real node (``python -m expclean_ros.ros.node``) runs as a subprocess, twice:
``publish_rate`` 1 Hz and 10 Hz, each in its own namespace. The baseline,
measured in the same run, is a trivial rclpy node in a subprocess whose
std_srvs/Trigger service answers at once, so each ratio shows what expclean
adds to a bare DDS round trip / an idle rclpy process:

1. start-up: Popen until the first successful answer (get_memory / Trigger);
2. round trip p50/p99 over N calls of ``~/get_memory`` and ``~/quick`` (one
   client created once and reused) vs the trivial Trigger;
3. idle cost over ``--seconds`` (all three processes idle in the same window):
   CPU % of one core from utime+stime deltas, RSS at the end, torch loaded?
4. under load, on a 10 Hz node: the largest gap between ``~/memory`` stamps and the
   ``~/get_memory`` round trip p50/p99 while a cleanup is held inside its hook, and
   while a burst of 200 refused teardown requests is answered, each against the same
   node idle just before (figures that tests do not bound: they assert that
   messages keep coming in order and that every caller is answered).

Run: AMENT_PREFIX_PATH=$PWD/.venv-kilted ROS_DOMAIN_ID=47 \
     ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST .venv-kilted/bin/python bench/bench_node.py \
     [--seconds 30] [--calls 50] [--quick] [--json]
"""

import argparse
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import psutil

TRIVIAL_NODE = '''
import sys

import rclpy
from rclpy.executors import ExternalShutdownException
from std_srvs.srv import Trigger

def answer(request, response):
    response.success = True
    return response

rclpy.init()
node = rclpy.create_node('trivial', namespace=sys.argv[1])
node.create_service(Trigger, '~/trigger', answer)
node.get_logger().info('ready')
try:
    rclpy.spin(node)
except (KeyboardInterrupt, ExternalShutdownException):
    pass
finally:
    node.destroy_node()
    rclpy.try_shutdown()
'''
TARGETS = {'get_memory_p50_ms': 10.0, 'quick_p50_ms': 250.0,
           'idle_cpu_1hz_pct': 1.0, 'rss_1hz_mb': 80.0,
           'gap_held_cleanup_max_s': 0.2, 'gap_burst_max_s': 1.0}
BURST = 200
MB = 1024 * 1024


class Caller:
    """One rclpy node with a private Context that times service round trips."""

    def __init__(self):
        import rclpy
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor
        self._rclpy = rclpy
        self._context = Context()
        rclpy.init(context=self._context)
        self.node = rclpy.create_node(f'expclean_bench_{os.getpid()}', context=self._context,
                                      start_parameter_services=False)
        self._executor = SingleThreadedExecutor(context=self._context)
        self._executor.add_node(self.node)
        self._clients = {}

    def close(self):
        """Destroy the node and shut the private context down."""
        self._executor.shutdown()
        self.node.destroy_node()
        self._rclpy.try_shutdown(context=self._context)

    def client(self, srv_type, name):
        """Return the client of ``name``, created once and reused."""
        if name not in self._clients:
            self._clients[name] = self.node.create_client(srv_type, name)
        return self._clients[name]

    def call(self, srv_type, name, timeout_s=30.0):
        """One round trip; return the response, or None when none came within ``timeout_s``."""
        client = self.client(srv_type, name)
        future = client.call_async(srv_type.Request())
        self._executor.spin_until_future_complete(future, timeout_sec=timeout_s)
        if not future.done():
            client.remove_pending_request(future)
            return None
        return future.result()

    def first_answer(self, srv_type, name, t0, timeout_s=30.0):
        """Seconds from ``t0`` until ``name`` first answers with success (discovery included)."""
        client = self.client(srv_type, name)
        deadline = t0 + timeout_s
        while time.perf_counter() < deadline:
            if client.service_is_ready():
                # A request sent the instant the service appears can be lost
                # while the reply path still matches: retry on a short timeout.
                response = self.call(srv_type, name, timeout_s=1.0)
                if response is not None and response.success:
                    return time.perf_counter() - t0
            else:
                self._executor.spin_once(timeout_sec=0.01)
        raise RuntimeError(f'{name} did not answer within {timeout_s:g} s')

    def round_trips_ms(self, srv_type, name, n):
        """Time ``n`` round trips of ``name`` (ms), all successful; and the last message."""
        if not self.client(srv_type, name).wait_for_service(timeout_sec=10.0):
            raise RuntimeError(f'no service {name}')
        times = []
        for _ in range(n):
            start = time.perf_counter()
            response = self.call(srv_type, name)
            times.append((time.perf_counter() - start) * 1000.0)
            if response is None or not response.success:
                raise RuntimeError(f'{name} failed: {getattr(response, "message", "no answer")}')
        return times, response.message


def ros_env():
    """
    Return the environment of every ROS process here.

    Loopback discovery, venv as ament prefix.
    """
    env = dict(os.environ)
    env['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    env.setdefault('AMENT_PREFIX_PATH', sys.prefix)
    env.setdefault('ROS_DOMAIN_ID', '0')
    return env


def spawn(argv, log_path):
    """Start a long-lived process in its own session, output to ``log_path``."""
    with open(log_path, 'wb') as log:
        return subprocess.Popen(argv, env=ros_env(), stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc):
    """SIGINT by PID and wait; SIGKILL after 10 s. Return the exit status."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGINT)
        try:
            return proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
    return proc.wait()


def node_argv(rate, namespace):
    """Return the real cleanup node publishing at ``rate`` Hz in ``namespace``."""
    return [sys.executable, '-m', 'expclean_ros.ros.node', '--ros-args',
            '-r', f'__ns:={namespace}', '-p', f'publish_rate:={float(rate)}']


def idle_cost(pids, seconds):
    """CPU % of one core (utime+stime delta / wall), RSS (MB) and torch-loaded per pid."""
    procs = {label: psutil.Process(pid) for label, pid in pids.items()}
    before = {label: sum(p.cpu_times()[:2]) for label, p in procs.items()}
    t0 = time.monotonic()
    time.sleep(seconds)
    wall = time.monotonic() - t0
    out = {}
    for label, p in procs.items():
        cpu = (sum(p.cpu_times()[:2]) - before[label]) / wall * 100.0
        out[label] = {'cpu_pct': cpu, 'rss_mb': p.memory_info().rss / MB,
                      'torch_loaded': _maps_mention(p.pid, 'torch')}
    return out


def _maps_mention(pid, word):
    with open(f'/proc/{pid}/maps') as f:
        return any(word in line for line in f)


def p99(values):
    """Nearest-rank 99th percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


def servers(tag):
    """(label, argv, service type, service name) of the baseline and the two real nodes."""
    from expclean_interfaces.srv import GetMemoryUsage
    from std_srvs.srv import Trigger
    return [('trivial', [sys.executable, '-c', TRIVIAL_NODE, f'/bench_trivial_{tag}'], Trigger,
             f'/bench_trivial_{tag}/trivial/trigger')] + [
        (f'node_{rate}hz', node_argv(rate, f'/bench_{rate}hz_{tag}'), GetMemoryUsage,
         f'/bench_{rate}hz_{tag}/cleanup/get_memory') for rate in (1, 10)]


def startups(caller, trials, log_dir):
    """
    Seconds from Popen to 'ready' logged and to the first answer, trivial and 1 Hz node.

    The two alternate, so that both see the same machine. The answer includes
    DDS discovery; 'ready' (both log it once their services exist) does not.
    """
    times = {}
    for trial in range(trials):
        for label, argv, srv_type, name in servers(f'start{trial}')[:2]:
            log_path = os.path.join(log_dir, f'start_{label}_{trial}.log')
            t0 = time.perf_counter()
            proc = spawn(argv, log_path)
            try:
                times.setdefault(f'{label}_ready', []).append(_logged(log_path, b'ready', t0))
                times.setdefault(label, []).append(caller.first_answer(srv_type, name, t0))
            finally:
                stop(proc)
    return times


def _logged(path, word, t0, timeout_s=30.0):
    """Seconds from ``t0`` until ``word`` appears in the log at ``path``."""
    while time.perf_counter() < t0 + timeout_s:
        with open(path, 'rb') as f:
            if word in f.read():
                return time.perf_counter() - t0
        time.sleep(0.005)
    raise RuntimeError(f'no {word!r} in {path} within {timeout_s:g} s')


def _stamp(msg):
    return msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9


class Stamps:
    """The header stamps of every ``~/memory`` message (the node's clock: when it published)."""

    def __init__(self, caller, topic):
        from expclean_interfaces.msg import MemoryUsage
        from rclpy.qos import QoSProfile
        self.stamps = []
        caller.node.create_subscription(MemoryUsage, topic,
                                        lambda m: self.stamps.append(_stamp(m)),
                                        QoSProfile(depth=1000))

    def max_gap(self, since):
        """Largest gap between consecutive stamps from index ``since`` on."""
        got = self.stamps[since:]
        return max((b - a for a, b in zip(got, got[1:])), default=float('nan'))


def _phase(caller, stamps, srv_type, name, seconds, calls):
    """
    Make ``calls`` round trips of ``name``, then spin until ``seconds`` have passed.

    Return (round trip ms, largest gap between ~/memory stamps meanwhile).
    """
    start, first = time.perf_counter(), len(stamps.stamps)
    times, _ = caller.round_trips_ms(srv_type, name, calls)
    while time.perf_counter() < start + seconds:
        caller._executor.spin_once(timeout_sec=0.05)
    return times, stamps.max_gap(first)


def _wait_path(caller, path, timeout_s=60.0):
    deadline = time.perf_counter() + timeout_s
    while not os.path.exists(path):
        if time.perf_counter() > deadline:
            raise RuntimeError(f'{path} did not appear within {timeout_s:g} s')
        caller._executor.spin_once(timeout_sec=0.02)


def under_load(caller, seconds, calls, log_dir):
    """
    Gaps in ~/memory and get_memory round trips on a 10 Hz node.

    Idle, while a cleanup is held inside its hook, and while a burst of refused teardown requests
    is answered.
    """
    from expclean_interfaces.srv import GetMemoryUsage, Teardown
    from std_srvs.srv import Trigger

    from expclean_ros.ros.qos import SERVICE_QOS
    ns = f'/bench_load_{os.getpid()}'
    started, release = os.path.join(log_dir, 'started'), os.path.join(log_dir, 'release')
    hook = (f'touch {started}; n=0; while [ ! -e {release} ] && [ $n -lt 12000 ]; '
            f'do sleep 0.05; n=$((n+1)); done')
    argv = node_argv(10, ns) + ['-p', f'hooks.before:=["{hook}"]', '-p', 'hooks.timeout_s:=900.0',
                                '-p', 'hooks.allow_as_root:=true']
    proc = spawn(argv, os.path.join(log_dir, 'node_load.log'))
    figures = {}
    try:
        get_memory = f'{ns}/cleanup/get_memory'
        caller.first_answer(GetMemoryUsage, get_memory, time.perf_counter())
        stamps = Stamps(caller, f'{ns}/cleanup/memory')
        phases = {}
        phases['idle'] = _phase(caller, stamps, GetMemoryUsage, get_memory, seconds, calls)
        quick = caller.client(Trigger, f'{ns}/cleanup/quick')
        if not quick.wait_for_service(timeout_sec=10.0):
            raise RuntimeError('no quick service')
        held = quick.call_async(Trigger.Request())
        _wait_path(caller, started)
        phases['held_cleanup'] = _phase(caller, stamps, GetMemoryUsage, get_memory, seconds,
                                        calls)
        if held.done():
            raise RuntimeError(f'the held cleanup ended early: {held.result().message}')
        with open(release, 'w'):
            pass
        caller._executor.spin_until_future_complete(held, timeout_sec=60.0)
        phases['idle_again'] = _phase(caller, stamps, GetMemoryUsage, get_memory, seconds,
                                      calls)
        teardown = [caller.node.create_client(Teardown, f'{ns}/cleanup/teardown',
                                              qos_profile=SERVICE_QOS) for _ in range(4)]
        for c in teardown:
            if not c.wait_for_service(timeout_sec=10.0):
                raise RuntimeError('no teardown service')
        burst = [teardown[i % 4].call_async(Teardown.Request(patterns=['.']))
                 for i in range(BURST)]
        phases['burst'] = _phase(caller, stamps, GetMemoryUsage, get_memory, seconds, calls)
        deadline = time.perf_counter() + 60.0
        while not all(f.done() for f in burst) and time.perf_counter() < deadline:
            caller._executor.spin_once(timeout_sec=0.05)
        figures['burst_answered'] = sum(f.done() for f in burst)
        for label, (times, gap) in phases.items():
            figures[f'gap_{label}_max_s'] = gap
            figures[f'get_memory_{label}_p50_ms'] = statistics.median(times)
            figures[f'get_memory_{label}_p99_ms'] = p99(times)
        figures['messages'] = len(stamps.stamps)
    finally:
        if not os.path.exists(release):
            with open(release, 'w'):
                pass
        figures['load_exit_status'] = stop(proc)
    return figures


def measure(seconds, calls, trials, log_dir):
    """Run every measurement; return the figures as a dict."""
    from std_srvs.srv import Trigger
    caller = Caller()
    procs = {}
    figures = {'seconds': seconds, 'calls': calls, 'startup_trials': trials,
               'cpus': os.cpu_count(), 'loadavg_before': os.getloadavg()}
    try:
        for label, samples in startups(caller, trials, log_dir).items():
            figures[f'startup_{label}_s'] = statistics.median(samples)
            figures[f'startup_{label}_max_s'] = max(samples)
        running = servers('run')
        for label, argv, srv_type, name in running:
            procs[label] = spawn(argv, os.path.join(log_dir, f'{label}.log'))
            caller.first_answer(srv_type, name, time.perf_counter())
        trivial_srv = running[0][3]
        quick_srv = running[1][3].replace('/get_memory', '/quick')
        for key, srv_type, name in (
                ('trivial', Trigger, trivial_srv),
                ('get_memory', running[1][2], running[1][3]),
                ('quick', Trigger, quick_srv)):
            times, figures[f'{key}_last_message'] = caller.round_trips_ms(srv_type, name, calls)
            figures[f'{key}_p50_ms'] = statistics.median(times)
            figures[f'{key}_p99_ms'] = p99(times)
        time.sleep(min(2.0, seconds))  # let the last call's work and discovery quiet down
        idle = idle_cost({k: p.pid for k, p in procs.items()}, seconds)
        for label, cost in idle.items():
            suffix = label.replace('node_', '')
            figures[f'idle_cpu_{suffix}_pct'] = cost['cpu_pct']
            figures[f'rss_{suffix}_mb'] = cost['rss_mb']
            figures[f'torch_loaded_{suffix}'] = cost['torch_loaded']
        for label, p in list(procs.items()):  # the load phase runs on its own node
            figures.setdefault('exit_status', {})[label] = stop(p)
            del procs[label]
        figures.update(under_load(caller, max(2.0, min(seconds, 5.0)), calls, log_dir))
    finally:
        figures.setdefault('exit_status', {}).update(
            {label: stop(p) for label, p in procs.items()})
        caller.close()
    figures['loadavg_after'] = os.getloadavg()
    return figures


def rows(f):
    """Table rows: (figure, value, baseline, unit, target) from the figures."""
    return [
        ('start-up until services created (ready logged), median',
         f['startup_node_1hz_ready_s'], f['startup_trivial_ready_s'], 's', None),
        ('start-up until get_memory answers (with discovery), median', f['startup_node_1hz_s'],
         f['startup_trivial_s'], 's', None),
        ('start-up until get_memory answers (with discovery), max', f['startup_node_1hz_max_s'],
         f['startup_trivial_max_s'], 's', None),
        ('get_memory round trip p50', f['get_memory_p50_ms'], f['trivial_p50_ms'], 'ms',
         TARGETS['get_memory_p50_ms']),
        ('get_memory round trip p99', f['get_memory_p99_ms'], f['trivial_p99_ms'], 'ms', None),
        ('quick round trip p50', f['quick_p50_ms'], f['trivial_p50_ms'], 'ms',
         TARGETS['quick_p50_ms']),
        ('quick round trip p99', f['quick_p99_ms'], f['trivial_p99_ms'], 'ms', None),
        ('idle CPU, 1 Hz (% of one core)', f['idle_cpu_1hz_pct'], f['idle_cpu_trivial_pct'],
         '%', TARGETS['idle_cpu_1hz_pct']),
        ('idle CPU, 10 Hz (% of one core)', f['idle_cpu_10hz_pct'], f['idle_cpu_trivial_pct'],
         '%', None),
        ('RSS, 1 Hz', f['rss_1hz_mb'], f['rss_trivial_mb'], 'MB', TARGETS['rss_1hz_mb']),
        ('RSS, 10 Hz', f['rss_10hz_mb'], f['rss_trivial_mb'], 'MB', None),
        ('largest ~/memory gap at 10 Hz, cleanup held in its hook (baseline: idle)',
         f['gap_held_cleanup_max_s'], f['gap_idle_max_s'], 's',
         TARGETS['gap_held_cleanup_max_s']),
        (f'largest ~/memory gap at 10 Hz, {BURST} refused teardown calls at once '
         '(baseline: idle)',
         f['gap_burst_max_s'], f['gap_idle_max_s'], 's', TARGETS['gap_burst_max_s']),
        ('get_memory p50, cleanup held in its hook (baseline: idle)',
         f['get_memory_held_cleanup_p50_ms'], f['get_memory_idle_p50_ms'], 'ms', None),
        ('get_memory p99, cleanup held in its hook (baseline: idle)',
         f['get_memory_held_cleanup_p99_ms'], f['get_memory_idle_p99_ms'], 'ms', None),
        (f'get_memory p50, {BURST} refused teardown calls at once (baseline: idle)',
         f['get_memory_burst_p50_ms'], f['get_memory_idle_p50_ms'], 'ms', None),
        (f'get_memory p99, {BURST} refused teardown calls at once (baseline: idle)',
         f['get_memory_burst_p99_ms'], f['get_memory_idle_p99_ms'], 'ms', None),
    ]


def table(f):
    """Return the figures as a markdown table, with the conditions they were taken under."""
    lines = ['| figure | value | baseline (trivial rclpy node, or as named) | ratio | target '
             '| met? |',
             '|---|---|---|---|---|---|']
    for name, value, base, unit, target in rows(f):
        ratio = f'{value / base:.1f}x' if base > 0 else 'n/a (baseline 0)'
        goal = '-' if target is None else f'<= {target:g} {unit}'
        met = '-' if target is None else ('yes' if value <= target else 'NO')
        lines.append(f'| {name} | {value:.3g} {unit} | {base:.3g} {unit} | {ratio} | {goal} '
                     f'| {met} |')
    lines.append('')
    lines.append(f'{f["calls"]} calls per round-trip figure; {f["startup_trials"]} start-ups '
                 f'of each node; idle window {f["seconds"]:g} s, '
                 f'all three processes idle at once; {f["cpus"]} CPUs, load average '
                 f'{f["loadavg_before"][0]:.2f} before, {f["loadavg_after"][0]:.2f} after; '
                 f'torch loaded in the node: {f["torch_loaded_1hz"] or f["torch_loaded_10hz"]}; '
                 f'exit status on SIGINT: {f["exit_status"]}, load node '
                 f'{f["load_exit_status"]}; last quick answer: "{f["quick_last_message"]}"; '
                 f'under load: {f["burst_answered"]}/{BURST} burst calls answered, '
                 f'{f["messages"]} ~/memory messages, idle again after the cleanup: largest '
                 f'gap {f["gap_idle_again_max_s"]:.3f} s, get_memory p50 '
                 f'{f["get_memory_idle_again_p50_ms"]:.2f} ms')
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seconds', type=float, default=30.0,
                        help='idle window in seconds (e.g. 30)')
    parser.add_argument('--calls', type=int, default=50, help='round trips per service (e.g. 50)')
    parser.add_argument('--startups', type=int, default=5,
                        help='start-up trials of each node, alternating (e.g. 5)')
    parser.add_argument('--quick', action='store_true',
                        help='short trial: 5 s idle window, 20 calls, 2 start-ups')
    parser.add_argument('--json', action='store_true', help='print the figures as JSON')
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.calls = min(args.seconds, 5.0), min(args.calls, 20)
        args.startups = min(args.startups, 2)
    if args.seconds <= 0 or args.calls < 1 or args.startups < 1:
        parser.error('--seconds must be > 0, --calls and --startups >= 1')
    os.environ.update({k: v for k, v in ros_env().items()
                       if k in ('ROS_AUTOMATIC_DISCOVERY_RANGE', 'AMENT_PREFIX_PATH',
                                'ROS_DOMAIN_ID')})
    with tempfile.TemporaryDirectory(prefix='bench_node_') as log_dir:
        try:
            figures = measure(args.seconds, args.calls, args.startups, log_dir)
        except RuntimeError as exc:
            logs = ''.join(f'--- {n}\n' + open(os.path.join(log_dir, n)).read()[-2000:]
                           for n in sorted(os.listdir(log_dir)))
            print(f'bench_node: error: {exc}\n{logs}', file=sys.stderr)
            return 1
    if args.json:
        figures['rows'] = [dict(zip(('figure', 'value', 'baseline', 'unit', 'target'), r))
                           for r in rows(figures)]
        print(json.dumps(figures, indent=2))
    else:
        print(table(figures))
    return 0


if __name__ == '__main__':
    sys.exit(main())
