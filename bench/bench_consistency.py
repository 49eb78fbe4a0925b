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

The experiment times a CPU workload and an fsync'd write, then leaves two orphans burning a
core each (double-forked; under ``expclean run`` they carry the run tag) and ``--leak-mib``
written without fsync. Ways: a plain loop; the original script's (orphans stopped by name
among this bench's own processes, sync, ``--sleep`` s); ``expclean run --quick``; ``expclean
run``. A foreign burst (untagged: burns a core, grows ``--grow-mib``) runs during runs 2, 5,
8, ... of each. Per way: the workload's median (runs after the first) and max/median against
an idle machine's (before and after the ways); wall time; from the ledgers, runs flagged
that overlapped a burst or not, and runs not back (blamed for the foreign growth). Every
process of this bench carries its mark and is stopped by it, never by a pattern.

Run: .venv-kilted/bin/python bench/bench_consistency.py [--quick] [--runs 10]
"""

import argparse
import contextlib
import glob
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

from expclean_ros.core.procs.scanner import select
from expclean_ros.core.procs.selection import Selection

MARK_VAR = 'EXPCLEAN_BENCH_CONSISTENCY'
ORPHAN = 'consistency-orphan'
BURN = ('import sys, time\nend = time.time() + float(sys.argv[2])\n'
        'while time.time() < end:\n    pass\n')
WAYS = ('plain loop', 'original script', 'expclean run --quick', 'expclean run')


def _log(path, **fields):
    with open(path, 'a') as f:
        f.write(json.dumps(fields) + '\n')  # one write: lines of several processes do not mix


def _read(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.endswith('\n')]


def _orphan(life_s):
    """Start a core burner that outlives this process (double fork, new session)."""
    if os.fork() == 0:  # the middle process starts the orphan and exits at once
        subprocess.Popen([sys.executable, '-c', BURN, ORPHAN, str(life_s)],
                         start_new_session=True, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os._exit(0)
    os.wait()


def _write(path, mib, sync):
    """Write ``mib`` MiB to ``path``; fsync it when ``sync``; return the time it took, s."""
    t = time.perf_counter()
    with open(path, 'wb') as f:
        for _ in range(mib):
            f.write(b'\x5a' * (1 << 20))
        if sync:
            f.flush()
            os.fsync(f.fileno())
    return time.perf_counter() - t


def experiment(a):
    """One run: time the workload, then leave orphans and unsynced data unless ``--idle``."""
    _log(a.results, way=a.way, run=a.run, phase='start', t=time.time())
    t = time.perf_counter()
    sum(i * i for i in range(a.work))
    cpu_s = time.perf_counter() - t
    io_s = _write(os.path.join(a.dir, f'io-{os.getpid()}.bin'), a.io_mib, True)
    os.unlink(os.path.join(a.dir, f'io-{os.getpid()}.bin'))
    _log(a.results, way=a.way, run=a.run, phase='end', t=time.time(), cpu_s=cpu_s, io_s=io_s)
    if not a.idle:
        for _ in range(2):
            _orphan(a.orphan_life)
        _write(os.path.join(a.dir, f'leak-{a.run}-{os.getpid()}.bin'), a.leak_mib, False)


def _has(a, run, phase):
    return any(x.get('way') == a.way and x.get('run') == run and x['phase'] == phase
               for x in _read(a.results))


def burster(a):
    """Burn a core (and grow) from the start to the end of runs 2, 5, 8, ... of the way."""
    held = []
    for run in range(2, 1 << 30, 3):
        while not _has(a, run, 'start'):
            time.sleep(0.02)
        t0 = time.time()
        held.append(b'\x01' * (a.grow_mib << 20))
        while not _has(a, run, 'end'):
            end = time.time() + 0.05
            while time.time() < end:
                pass
        _log(a.results, way=a.way, phase='burst', run=run, t0=t0, t1=time.time())


def own_pids(mark, name=None):
    """Pids of processes carrying this bench's mark (and ``name`` in their command line)."""
    found = select(Selection(tag=mark, tag_variable=MARK_VAR))
    return [c.pid for c in found if name is None or name in c.cmdline.split()]


def stop(pids, sig=signal.SIGKILL):
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def exp_argv(a, me, way, d):
    """Return the experiment's command line (less ``--run``)."""
    return [sys.executable, me, '--experiment', '--results', a.results, '--way', way,
            '--dir', d, '--work', str(a.work), '--io-mib', str(a.io_mib), '--leak-mib',
            str(a.leak_mib), '--orphan-life', str(a.orphan_life)] + ['--idle'] * (way == 'idle')


def run_way(way, a, env, me, d):
    """Run one way's batch in the folder ``d``; return its wall time in s."""
    argv = exp_argv(a, me, way, d)
    burst = subprocess.Popen(argv[:2] + ['--burster'] + argv[3:7]
                             + ['--grow-mib', str(a.grow_mib)], env=env)
    print(f'({way}) foreign burster: pid {burst.pid}', file=sys.stderr)
    t = time.perf_counter()
    if way.startswith('expclean'):
        with open(os.path.join(d, 'runs.csv'), 'w') as f:
            f.write('n\n' + ''.join(f'{i}\n' for i in range(a.runs)))
        cli = [os.path.join(os.path.dirname(sys.executable), 'expclean'), 'run', f.name,
               '--ledger', os.path.join(d, 'ledger.jsonl'), '--log-dir', os.path.join(d, 'logs')
               ] + ['--quick'] * ('quick' in way)
        subprocess.run(cli + ['--'] + argv + ['--run', '{run_number}'], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for n in range(1, (not way.startswith('expclean')) * a.runs + 1):
        subprocess.run(argv + ['--run', str(n)], env=env)
        if way == 'original script':  # stop by name (the bench's own only), sync, fixed sleep
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
    hit, missed, false, blamed, causes = 0, 0, 0, 0, []
    for line in (x for x in _read(path) if x.get('type') == 'run'):
        n = line['index'] + 1
        r = runs.get(n, {})
        over = any(b[0] < r.get('end', 0) and r.get('start', 0) < b[1] for b in bursts)
        dist = line.get('disturbance') or {}
        flagged = bool(dist.get('disturbed'))
        hit, missed = hit + (over and flagged), missed + (over and not flagged)
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
    return statistics.median(values), max(values) / statistics.median(values)


def parse(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    for flag, kind, default, text in (
            ('--runs', int, 10, 'runs per way'), ('--leak-mib', int, 1536, 'MiB a run leaks'),
            ('--sleep', float, 10.0, "the original script's sleep, s"),
            ('--work', int, 3_000_000, 'CPU workload: loop length'),
            ('--io-mib', int, 32, "the fsync'd write, MiB"),
            ('--grow-mib', int, 48, 'foreign growth a burst, MiB'),
            ('--orphan-life', float, 60.0, 'an orphan ends itself after this long, s'),
            ('--idle-runs', int, 3, 'idle timings before, between, after the ways')):
        ap.add_argument(flag, type=kind, default=default, help=f'{text} (default {default})')
    ap.add_argument('--quick', action='store_true', help='4 runs a way, 256 MiB, 2 s sleep')
    for hidden in ('--experiment', '--burster', '--idle'):
        ap.add_argument(hidden, action='store_true', help=argparse.SUPPRESS)
    for hidden in ('--results', '--way', '--dir'):
        ap.add_argument(hidden, help=argparse.SUPPRESS)
    ap.add_argument('--run', type=int, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.quick:
        a.runs, a.leak_mib, a.sleep, a.idle_runs = 4, 256, 2.0, 2
    if a.runs < 2 or a.idle_runs < 1:
        ap.error('--runs must be at least 2 (the first is left out), --idle-runs at least 1')
    return a


def goals(w, cpu, io, hit, missed, false, blamed, runs):
    """Return the goals of one expclean way: (text, met)."""
    return [(f'{w}: median within 5 % of idle (CPU {cpu:.2f}x, I/O {io:.2f}x)',
             max(abs(cpu - 1), abs(io - 1)) <= 0.05),
            (f'{w}: every run that overlapped a burst flagged ({hit}/{hit + missed})', not missed),
            (f'{w}: at most 1 false flag in 20 ({false} in {runs})', false * 20 <= runs),
            (f'{w}: no run blamed for foreign growth ({blamed} not back)', not blamed)]


def report(a, walls, base):
    """Print the table and the goals."""
    idle = times(a.results, 'idle')
    print(f'{a.runs} runs a way; leak {a.leak_mib} MiB a run; original sleep {a.sleep:g} s; '
          f'idle: {a.idle_runs} runs before, between and after the ways\n| way | idle CPU, '
          'I/O ms | CPU median x idle | CPU max/median | I/O median x idle | I/O max/median | '
          'batch s | flagged: overlapped a burst | flagged: no burst | not back |\n'
          '|---|---|---|---|---|---|---|---|---|---|')
    met = []
    for i, way in enumerate(WAYS):  # against the idle timings just before and after it
        near = [r for n, r in idle.items() if (n - 1) // a.idle_runs in (i, i + 1)]
        ref = {k: spread([r[k] for r in near]) for k in ('cpu_s', 'io_s')}
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
        print(f'| {way} | {ref["cpu_s"][0] * 1e3:.0f}, {ref["io_s"][0] * 1e3:.0f} | '
              f'{cpu_x:.2f} | {cpu[1]:.2f} | {io_x:.2f} | {io[1]:.2f} | {walls[way]:.0f} | '
              f'{flags} |')
    for text, ok in met:
        print(f'goal {text}: {"met" if ok else "NOT met"}')


def main():
    a = parse()
    if a.experiment:
        return experiment(a)
    if a.burster:
        return burster(a)
    me, base = os.path.abspath(__file__), tempfile.mkdtemp(prefix='bench-consistency-')
    a.results = os.path.join(base, 'results.jsonl')
    env = dict(os.environ, **{MARK_VAR: uuid.uuid4().hex})
    walls, idle = {}, exp_argv(a, me, 'idle', base) + ['--run']
    try:
        for i, way in enumerate(WAYS + ('',)):  # idle timings before, between and after
            for n in range(i * a.idle_runs + 1, (i + 1) * a.idle_runs + 1):
                subprocess.run(idle + [str(n)], env=env)
            if not way:
                break
            os.makedirs(d := os.path.join(base, f'way{i}'))
            walls[way] = run_way(way, a, env, me, d)
            for name in glob.glob(os.path.join(d, 'leak-*')):  # this way's unsynced data
                os.unlink(name)
        report(a, walls, base)
    finally:
        stop(own_pids(env[MARK_VAR]))  # anything of ours still alive, by the mark
        shutil.rmtree(base, ignore_errors=True)


if __name__ == '__main__':
    main()
