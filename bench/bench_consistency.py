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
How each way of cleaning up keeps a leaky experiment's timings consistent on a shared machine.

The experiment times a fixed CPU workload and an fsync'd write (the figure it records),
then leaves two orphans burning a core each (double-forked, they outlive it; they carry
the run tag when ``expclean run`` started it) and ``--leak-mib`` written without fsync.
It runs ``--runs`` times in each way: a plain loop; the original script's way (the
orphans stopped by name among this bench's own processes, sync, ``--sleep`` s); ``expclean
run --quick``; ``expclean run``. A foreign burst (an untagged process of this bench that
burns a core and grows ``--grow-mib``) runs during every third run (2, 5, 8, ...).

Per way: the workload's median (runs after the first) and max/median, against an idle
machine's measured in the same run (before and after the ways); the batch's wall time;
from the ledgers ``expclean run`` wrote, the runs flagged disturbed that overlapped a burst
and those that did not, and the runs not back (blamed for the foreign growth). Every
process this bench starts carries a mark of its own in its environment; it stops them by
that mark, never by a pattern.

Run: .venv-kilted/bin/python bench/bench_consistency.py [--quick] [--runs 10]
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

MARK_VAR = 'EXPCLEAN_BENCH_CONSISTENCY'
ORPHAN = 'consistency-orphan'
BURN = ('import sys, time\nend = time.time() + float(sys.argv[2])\n'
        'while time.time() < end:\n    pass\n')
WAYS = ('plain loop', 'original script', 'expclean run --quick', 'expclean run')


def _log(path, **fields):
    """Append one JSON line (O_APPEND: lines of several processes do not mix)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (json.dumps(fields) + '\n').encode())
    finally:
        os.close(fd)


def _read(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def _orphan(life_s):
    """Start a core burner that outlives this process (double fork, new session)."""
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() == 0:
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            os.execv(sys.executable, [sys.executable, '-c', BURN, ORPHAN, str(life_s)])
        os._exit(0)
    os.waitpid(pid, 0)


def experiment(a):
    """One run: time the workload, then leave orphans and unsynced data unless ``--idle``."""
    _log(a.results, way=a.way, run=a.run, phase='start', t=time.time())
    t = time.perf_counter()
    sum(i * i for i in range(a.work))
    cpu_s = time.perf_counter() - t
    chunk = b'\x5a' * (1 << 20)
    path = os.path.join(a.dir, f'io-{os.getpid()}.bin')
    t = time.perf_counter()
    with open(path, 'wb') as f:
        for _ in range(a.io_mib):
            f.write(chunk)
        f.flush()
        os.fsync(f.fileno())
    io_s = time.perf_counter() - t
    os.unlink(path)
    _log(a.results, way=a.way, run=a.run, phase='end', t=time.time(), cpu_s=cpu_s, io_s=io_s)
    if a.idle:
        return
    for _ in range(2):
        _orphan(a.orphan_life)
    with open(os.path.join(a.dir, f'leak-{a.run}-{os.getpid()}.bin'), 'wb') as f:
        for _ in range(a.leak_mib):
            f.write(chunk)


def burster(a):
    """Burn a core (and grow) from the start to the end of every third run of the way."""
    held, seen = [], set()
    while True:
        for line in _read(a.results):
            run = line.get('run', 0)
            if line.get('way') == a.way and line['phase'] == 'start' and run % 3 == 2 \
                    and run not in seen:
                seen.add(run)
                t0 = time.time()
                held.append(b'\x01' * (a.grow_mib << 20))
                while not any(x.get('way') == a.way and x.get('run') == run
                              and x['phase'] == 'end' for x in _read(a.results)):
                    end = time.time() + 0.05
                    while time.time() < end:
                        pass
                _log(a.results, way=a.way, phase='burst', run=run, t0=t0, t1=time.time())
        time.sleep(0.02)


def own_pids(mark, name=None):
    """Pids of processes carrying this bench's mark (and ``name`` in their command line)."""
    entry = f'{MARK_VAR}={mark}'.encode()
    pids = []
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open(f'/proc/{pid}/environ', 'rb') as f:
                if entry not in f.read().split(b'\0'):
                    continue
            with open(f'/proc/{pid}/cmdline', 'rb') as f:
                if name is None or name.encode() in f.read().split(b'\0'):
                    pids.append(int(pid))
        except OSError:
            pass
    return pids


def stop(pids, sig=signal.SIGKILL):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def run_way(way, a, env, me, base):
    """Run one way's batch; return its wall time in s."""
    argv = [sys.executable, me, '--experiment', '--results', a.results, '--way', way,
            '--dir', base, '--work', str(a.work), '--io-mib', str(a.io_mib),
            '--leak-mib', str(a.leak_mib), '--orphan-life', str(a.orphan_life)]
    burst = subprocess.Popen(argv[:2] + ['--burster'] + argv[3:7]
                             + ['--grow-mib', str(a.grow_mib)], env=env)
    print(f'({way}) foreign burster: pid {burst.pid}', file=sys.stderr)
    t = time.perf_counter()
    if way.startswith('expclean'):
        table = os.path.join(base, 'runs.csv')
        with open(table, 'w') as f:
            f.write('n\n' + ''.join(f'{i}\n' for i in range(a.runs)))
        cli = [a.expclean, 'run', table, '--ledger', os.path.join(base, 'ledger.jsonl'),
               '--log-dir', os.path.join(base, 'logs')] + (['--quick'] if 'quick' in way else [])
        subprocess.run(cli + ['--'] + argv + ['--run', '{run_number}'], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    else:
        for n in range(1, a.runs + 1):
            subprocess.run(argv + ['--run', str(n)], env=env)
            if way == 'original script':  # pkill by name (ours only), sync, fixed sleep
                stop(own_pids(env[MARK_VAR], ORPHAN), signal.SIGTERM)
                os.sync()
                time.sleep(a.sleep)
    wall = time.perf_counter() - t
    burst.kill()
    burst.wait()
    stop(own_pids(env[MARK_VAR]))  # this way's orphans, by the bench's mark
    return wall


def ledger_figures(path, runs, bursts):
    """Return (flagged overlapping, bursts overlapped, false flags, not back, causes)."""
    hit = missed = false = blamed = 0
    causes = []
    for line in _read(path):
        if line.get('type') != 'run':
            continue
        n = line['index'] + 1
        r = runs.get(n, {})
        over = any(b[0] < r.get('end', 0) and r.get('start', 0) < b[1] for b in bursts)
        dist = line.get('disturbance') or {}
        flagged = bool(dist.get('disturbed'))
        hit += over and flagged
        missed += over and not flagged
        false += flagged and not over
        if flagged:
            causes.append(f'run {n}: {dist.get("cause")}')
        verify = line.get('verify') or {}
        if verify.get('clean') is False:
            blamed += 1
            causes.append(f'run {n}: {verify.get("line")}')
    return hit, missed, false, blamed, causes


def times(results, way):
    """Return {run: {'start', 'end', 'cpu_s', 'io_s'}} of one way."""
    runs = {}
    for line in _read(results):
        if line.get('way') == way and line['phase'] in ('start', 'end'):
            runs.setdefault(line['run'], {})[line['phase']] = line['t']
            runs[line['run']].update({k: line[k] for k in ('cpu_s', 'io_s') if k in line})
    return runs


def spread(values):
    """Return (median, max/median) of ``values``."""
    med = statistics.median(values)
    return med, max(values) / med


def idle_runs(a, env, me, base, first):
    for n in range(first, first + a.idle_runs):
        subprocess.run([sys.executable, me, '--experiment', '--idle', '--results', a.results,
                        '--way', 'idle', '--dir', base, '--work', str(a.work),
                        '--io-mib', str(a.io_mib), '--run', str(n)], env=env)


def parse(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    ap.add_argument('--runs', type=int, default=10, help='runs per way (e.g. 10)')
    ap.add_argument('--quick', action='store_true',
                    help='4 runs per way, 256 MiB leaked, 2 s sleep (under 3 minutes)')
    ap.add_argument('--leak-mib', type=int, default=1536, help='written without fsync a run')
    ap.add_argument('--sleep', type=float, default=10.0, help="the original script's sleep")
    ap.add_argument('--work', type=int, default=3_000_000, help='CPU workload: loop length')
    ap.add_argument('--io-mib', type=int, default=32, help="the fsync'd write, MiB")
    ap.add_argument('--grow-mib', type=int, default=48, help='foreign growth per burst')
    ap.add_argument('--orphan-life', type=float, default=60.0,
                    help='an orphan ends itself after this long (if nothing stops it)')
    ap.add_argument('--idle-runs', type=int, default=5, help='idle timings before and after')
    for hidden in ('--experiment', '--burster', '--idle'):
        ap.add_argument(hidden, action='store_true', help=argparse.SUPPRESS)
    for hidden in ('--results', '--way', '--dir'):
        ap.add_argument(hidden, help=argparse.SUPPRESS)
    ap.add_argument('--run', type=int, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.quick:
        a.runs, a.leak_mib, a.sleep, a.idle_runs = 4, 256, 2.0, 3
    if a.runs < 2 or a.idle_runs < 1:
        ap.error('--runs must be at least 2 (the first run is left out of the median), '
                 '--idle-runs at least 1')
    return a


def goals(way, cpu_x, io_x, hit, missed, false, blamed, runs):
    """Return the goals of one expclean way: (text, met)."""
    return [(f'{way}: median within 5 % of idle (CPU {cpu_x:.2f}x, I/O {io_x:.2f}x)',
             abs(cpu_x - 1) <= 0.05 and abs(io_x - 1) <= 0.05),
            (f'{way}: every run that overlapped a burst flagged ({hit} of {hit + missed})',
             missed == 0),
            (f'{way}: at most 1 false flag in 20 ({false} in {runs})', false * 20 <= runs),
            (f'{way}: no run blamed for foreign growth ({blamed} not back)', blamed == 0)]


def report(a, walls, base):
    """Print the table and the goals."""
    idle = times(a.results, 'idle').values()
    ref = {k: spread([r[k] for r in idle]) for k in ('cpu_s', 'io_s')}
    print(f'{a.runs} runs a way; leak {a.leak_mib} MiB a run; original sleep {a.sleep:g} s; '
          f'idle: {len(idle)} runs, CPU {ref["cpu_s"][0] * 1000:.0f} ms (max/median '
          f'{ref["cpu_s"][1]:.2f}), I/O {ref["io_s"][0] * 1000:.0f} ms (max/median '
          f'{ref["io_s"][1]:.2f})\n| way | CPU median x idle | CPU max/median | I/O median x '
          'idle | I/O max/median | batch s | flagged: overlapped a burst | flagged: no burst '
          '| not back |\n|---|---|---|---|---|---|---|---|---|')
    met = []
    for i, way in enumerate(WAYS):
        runs = times(a.results, way)
        later = [r for n, r in runs.items() if n > 1 and 'cpu_s' in r]
        cpu, io = (spread([r[k] for r in later]) for k in ('cpu_s', 'io_s'))
        cpu_x, io_x = cpu[0] / ref['cpu_s'][0], io[0] / ref['io_s'][0]
        bursts = [(x['t0'], x['t1']) for x in _read(a.results)
                  if x.get('way') == way and x['phase'] == 'burst']
        flags = '— | — | —'
        if way.startswith('expclean'):
            hit, missed, false, blamed, causes = ledger_figures(
                os.path.join(base, f'way{i}', 'ledger.jsonl'), runs, bursts)
            flags = f'{hit} of {hit + missed} | {false} of {a.runs - hit - missed} | {blamed}'
            met += goals(way, cpu_x, io_x, hit, missed, false, blamed, a.runs)
            for cause in causes:
                print(f'  ({way}) {cause}', file=sys.stderr)
        print(f'| {way} | {cpu_x:.2f} | {cpu[1]:.2f} | {io_x:.2f} | {io[1]:.2f} | '
              f'{walls[way]:.0f} | {flags} |')
    for text, ok in met:
        print(f'goal {text}: {"met" if ok else "NOT met"}')


def main():
    a = parse()
    if a.experiment:
        return experiment(a)
    if a.burster:
        return burster(a)
    me = os.path.abspath(__file__)
    a.expclean = shutil.which('expclean') or os.path.join(os.path.dirname(sys.executable),
                                                          'expclean')
    base = tempfile.mkdtemp(prefix='bench-consistency-')
    a.results = os.path.join(base, 'results.jsonl')
    env = dict(os.environ, **{MARK_VAR: uuid.uuid4().hex})
    walls = {}
    try:
        idle_runs(a, env, me, base, 1)
        for i, way in enumerate(WAYS):
            d = os.path.join(base, f'way{i}')
            os.makedirs(d)
            walls[way] = run_way(way, a, env, me, d)
            for name in os.listdir(d):  # the unsynced data of this way's runs
                if name.startswith('leak-'):
                    os.unlink(os.path.join(d, name))
        idle_runs(a, env, me, base, 1 + a.idle_runs)
        report(a, walls, base)
    finally:
        stop(own_pids(env[MARK_VAR]))  # anything of ours still alive, by the mark
        shutil.rmtree(base, ignore_errors=True)


if __name__ == '__main__':
    main()
