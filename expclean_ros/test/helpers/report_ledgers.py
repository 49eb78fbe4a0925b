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
Ledgers for report tests and the report benchmark: a real small batch, and generated ones.

:func:`real_batch` runs a real ``expclean run`` (``python -c`` runs, each leaving a
double-forked ``sleep`` that outlives it). :func:`generated_ledger` writes runs in
the sequencer's own record layout (the same keys as a real run line: a test checks
it) with a chosen drift of RAM after cleanup, for scale and for known slopes.
"""

import json
import random
import socket
import subprocess
import sys

from expclean_ros.core.cleanup.verify import Verification
from expclean_ros.core.units import GIB, MIB

CLI = [sys.executable, '-c', 'import sys; from expclean_ros.cli import main; sys.exit(main())']
# sleeps {secs}, leaves a double-forked `sleep 37` in a session of its own, exits {code}
EXPERIMENT = ('import os, sys, time\n'
              'if os.fork() == 0:\n'
              '    os.setsid()\n'
              '    if os.fork() == 0:\n'
              '        os.execvp("sleep", ["sleep", "37"])\n'
              '    os._exit(0)\n'
              'time.sleep(float(sys.argv[1])); sys.exit(int(sys.argv[2]))\n')


def expclean(*args, timeout=180, **kw):
    return subprocess.run([*CLI, *args], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout, **kw)


def real_batch(folder, rows=((0.2, 0), (0.3, 1), (0.1, 0)), options=()):
    """
    Run a real batch of ``rows`` (secs, exit code) in ``folder``; return the ledger path.

    More ``expclean run`` ``options`` may be given.
    """
    table = folder / 'runs.csv'
    table.write_text('secs,code\n' + ''.join(f'{s},{c}\n' for s, c in rows))
    ledger = str(folder / 'runs.jsonl')
    done = expclean('run', str(table), '--ledger', ledger, '--quick', '--wait', '0',
                    '--stop-timeouts', '1,1,1', *options, '--', sys.executable, '-c', EXPERIMENT,
                    '{secs}', '{code}')
    assert done.returncode in (0, 3), done.stderr
    return ledger


def _snapshot(ram, gpu=None):
    return {'ram_used_bytes': int(ram), 'ram_total_bytes': 64 * GIB, 'swap_used_bytes': 0,
            'gpus': [] if gpu is None else [{'index': 0, 'name': 'NVIDIA Test GPU',
                                             'used_bytes': int(gpu), 'total_bytes': 24 * GIB}],
            'gpu_status': 'ok' if gpu is not None else 'NVML not found'}


def run_record(index, *, ram_after, noise=1.0, rng=None, gpu=None, status='ok',
               escaped=('python3 /opt/exp/helper.py --rate 5',), duration=12.0):
    """One ``run`` line as the sequencer writes it (fields of sequencer._run_one)."""
    rng = rng or random.Random(index)
    before = ram_after - rng.gauss(0, noise * MIB)
    procs = [{'pid': 1000 + index * 10 + k, 'create_time': 1.7e9 + index, 'name': 'python3',
              'cmdline': cmd, 'reason': 'tag EXPCLEAN_RUN_ID', 'stage': 'sigint',
              'why': 'exited after SIGINT', 'exit_code': None}
             for k, cmd in enumerate(escaped)]
    seconds = duration + rng.gauss(0, 0.2)
    return {
        'type': 'run', 'index': index, 'row': {'model': f'm{index % 3}', 'bag': 'b.db3'},
        'run_id': f'run-{index:032x}', 'command': ['ros2', 'launch', 'pkg', 'exp.launch.py'],
        'log': None, 'ros_log_dir': None, 'mechanism': 'cgroup', 'status': status,
        'exit_code': 0 if status == 'ok' else 1, 'detail': 'exited with 0',
        'duration_s': seconds,
        'memory': {'before': _snapshot(before, gpu),
                   'peak': {'ram_used_bytes': int(before + 900 * MIB),
                            'gpus': [] if gpu is None else [{'index': 0,
                                                             'used_bytes': int(gpu + GIB)}]},
                   'after_teardown': _snapshot(ram_after + 20 * MIB, gpu),
                   'after': _snapshot(ram_after, gpu)},
        'teardown': {'stopped': len(procs), 'left': 0, 'killed': 0, 'mechanism': 'cgroup+tag',
                     'signal_via': 'pidfd', 'seconds': 0.05, 'dry_run': False,
                     'processes': procs},
        'shm': None, 'ros2_daemon': None, 'disturbance': None,
        'quiet_start': None,
        'verify': Verification(True, 0, (), (), 'back at the level before the run').as_dict(),
        'cleanup': {'plan': 'quick', 'success': True, 'skipped': False,
                    'message': 'quick ok in 0.10 s', 'seconds': 0.1, 'settled': True,
                    'settle_s': 0.05, 'steps': [{'name': 'python_memory', 'status': 'ok',
                                                 'detail': 'gc', 'seconds': 0.01}],
                    'processes_stopped': 0, 'processes_left': 0},
        'leftovers': [], 'recovered': None, 'finished_at': 1.7e9 + index * 14.0 + 13.0,
        'overhead_s': 0.4 + rng.random() * 0.1,
    }


def generated_ledger(path, runs, *, drift_per_run=0.0, noise_mib=1.0, gpu=False, seed=1,
                     host='bench-host'):
    """
    Write a ledger of ``runs`` runs whose RAM after cleanup moves ``drift_per_run`` bytes a run.

    Gaussian noise of ``noise_mib`` is added. Return the path.
    """
    rng = random.Random(seed)
    lines = [{'type': 'header', 'version': 1, 'table': '/data/runs.csv',
              'fingerprint': f'sha256:{seed:064x}', 'total_runs': runs,
              'columns': ['model', 'bag'], 'command': ['ros2', 'launch'], 'host': host}]
    for i in range(runs):
        lines.append({'type': 'started', 'index': i, 'run_id': f'run-{i:032x}',
                      'tag_variable': 'EXPCLEAN_RUN_ID', 'cgroup': None,
                      'started_at': 1.7e9 + i * 14.0})
        lines.append(run_record(i, ram_after=4 * GIB + i * drift_per_run + rng.gauss(
            0, noise_mib * MIB), noise=noise_mib, rng=rng, gpu=3 * GIB if gpu else None))
    with open(path, 'w') as f:
        f.write(''.join(json.dumps(line) + '\n' for line in lines))
    return str(path)


def hostname():
    return socket.gethostname()


# a run with figures: prints "latency {lat} ms" unless lat is '-', appends {"fps": 1.0}, then
# {"fps": fps} (by write_figures) to $EXPCLEAN_METRICS unless fps is '-'
FIGURE_WORKLOAD = ('import json, os, sys\n'
                   'lat, fps = sys.argv[1:3]\n'
                   'print("warming up: latency 999 ms (not this one)")\n'
                   'if lat != "-": print(f"latency {lat} ms", flush=True)\n'
                   'if fps != "-":\n'
                   '    with open(os.environ["EXPCLEAN_METRICS"], "a") as f:\n'
                   '        f.write(json.dumps({"fps": 1.0}) + "\\n")\n'
                   '    from expclean_ros.core.runs.figures import write_figures\n'
                   '    write_figures(fps=float(fps))\n')  # the Python API: the last wins
FIGURE_METRIC = r'latency=latency ([0-9.]+) ms'


def figure_batch(folder, rows, *options):
    """Run ``rows`` (lat, fps) as a real batch; return (the finished command, the ledger)."""
    table = folder / 'runs.csv'
    table.write_text('lat,fps\n' + ''.join(f'{a},{b}\n' for a, b in rows))
    ledger = str(folder / 'runs.jsonl')
    script = folder / 'workload.py'
    script.write_text(FIGURE_WORKLOAD)
    done = expclean('run', str(table), '--ledger', ledger, '--quick', '--wait', '0',
                    '--stop-timeouts', '1,1,1', '--keep-daemon', '--metric', FIGURE_METRIC,
                    *options, '--', sys.executable, str(script), '{lat}', '{fps}')
    assert done.returncode == 0, done.stderr
    return done, ledger
