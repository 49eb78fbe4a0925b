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
What a crashing PyTorch + ROS 2 run leaves behind: a plain loop, `expclean run`, the wrapper.

The run (``expclean_ros/test/helpers/torch_pipeline.py``): a DataLoader with two
workers (``file_system`` or the default ``file_descriptor`` strategy), 6
batches of 4 x 4 MiB, a 32 MiB ``multiprocessing.shared_memory`` segment, an
rclpy node; then SIGKILL. Three ways, ``runs`` times each per strategy:

- ``plain``: the loop users write: start it, and when it is over kill what is
  left of it at once (as a pattern kill of the run's command lines does,
  torch_shm_manager included);
- ``expclean run``: the sequencer (quick cleanup, record of /dev/shm);
- ``wrap``: ``ros2 launch expclean_ros wrap.launch.py`` (cleanup:=none: the
  wrapper's own teardown and /dev/shm step).

Figures: /dev/shm MiB the run's files still take after each run (only files
of our runs are counted: other programs share /dev/shm), RAM drift per run,
ghost nodes (the crashed node still in ``ros2 node list`` when the next run
starts, through the daemon), and the cost of the /dev/shm step on a
400-process table against reading that table once (``proctable.snapshot``).

Run: AMENT_PREFIX_PATH=$PWD/.venv-kilted ROS_DOMAIN_ID=48 \
     ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST \
     .venv-kilted/bin/python bench/bench_torch_leftovers.py [--runs 10] [--quick]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TEST = os.path.join(os.path.dirname(HERE), 'expclean_ros', 'test')
sys.path.insert(0, TEST)

from helpers import rosproc  # noqa: E402
from expclean_ros.core.memory.run_shm import clean_run_shm  # noqa: E402
from expclean_ros.core.memory.shm_record import RunEvidence, ShmRecord  # noqa: E402
from expclean_ros.core.procs import proctable  # noqa: E402
from expclean_ros.core.procs.teardown import teardown  # noqa: E402
from expclean_ros.core.runs import run_tag  # noqa: E402
from expclean_ros.core.units import MIB  # noqa: E402

PIPELINE = os.path.join(TEST, 'helpers', 'torch_pipeline.py')
CLI = [sys.executable, '-c', 'import sys; from expclean_ros.cli import main; sys.exit(main())']
SHM = '/dev/shm'
NODE = '/torch_pipeline'


def env(**extra):
    e = dict(os.environ, EXPCLEAN_SHM_ROOT=SHM, **extra)
    e.pop('EXPCLEAN_RUN_ID', None)
    return e


def nodes():
    done = subprocess.run([rosproc.ros2(), 'node', 'list'], env=env(), capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)
    return set(done.stdout.split())


def ours(infos):
    """/dev/shm files of our runs still there: what they held, and torch_<their pids>_*."""
    pids = {p for i in infos for p in [i['pid'], *i['workers']]}
    names = {n for i in infos for n in i['held'] if n.startswith(('torch_', 'psm_'))}
    names |= {n for n in os.listdir(SHM) if n.startswith('torch_')
              and n.split('_')[1].isdigit() and int(n.split('_')[1]) in pids}
    return {n for n in names if os.path.exists(f'{SHM}/{n}')}


def allocated(names):
    total = 0
    for n in names:
        try:
            total += os.lstat(f'{SHM}/{n}').st_blocks * 512
        except FileNotFoundError:
            pass
    return total


def pipeline_cmd(out, go, strategy):
    return [sys.executable, PIPELINE, out, '--strategy', strategy, '--node', '--psm', '32',
            '--go', go]


def release(out, go, alive):
    """
    Once the run is up and the daemon lists its node (as a readiness check would see it).

    Let it crash; return what it held.
    """
    deadline = time.monotonic() + 300
    while not os.path.exists(out) and alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    deadline = time.monotonic() + 30
    while NODE not in nodes() and time.monotonic() < deadline:
        time.sleep(0.2)
    open(go, 'w').close()
    return json.load(open(out))


def plain(runs, strategy, tmp):
    infos, ghosts = [], 0
    for i in range(runs):
        out, go = f'{tmp}/plain-{strategy}-{i}.json', f'{tmp}/plain-{strategy}-{i}.go'
        mark = rosproc.new_mark()
        proc = subprocess.Popen(pipeline_cmd(out, go, strategy), env=rosproc.marked_env(
            mark, EXPCLEAN_SHM_ROOT=SHM), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        infos.append(release(out, go, lambda: proc.poll() is None))
        proc.wait(300)
        # what is left of the run, killed at once (the manager too), by our own mark only
        teardown(run_tag.tag_selection(mark, rosproc.MARK), 0.0, 0.0, 1.0, owner_grace_s=0)
        ghosts += NODE in nodes()
    return infos, ghosts


def sequencer(runs, strategy, tmp):
    table = f'{tmp}/runs-{strategy}.csv'
    with open(table, 'w') as f:
        f.write('i\n' + ''.join(f'{i}\n' for i in range(runs)))
    out, go = f'{tmp}/seq-{strategy}-{{run_index}}.json', f'{tmp}/seq-{strategy}-{{run_index}}.go'
    check = f'{rosproc.ros2()} node list > {tmp}/seq-{strategy}-{{run_index}}.nodes; exec "$@"'
    runner = subprocess.Popen(
        [*CLI, 'run', table, '--ledger', f'{tmp}/seq-{strategy}.jsonl', '--quick',
         '--stop-timeouts', '1,1,1', '--', 'sh', '-c', check, 'sh',
         *pipeline_cmd(out, go, strategy)], env=env(), stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    infos = [release(out.format(run_index=i), go.format(run_index=i),
                     lambda: runner.poll() is None) for i in range(runs)]
    runner.wait(300)
    ghosts = sum(NODE in open(f'{tmp}/seq-{strategy}-{i}.nodes').read().split()
                 for i in range(1, runs)) + (NODE in nodes())
    steps = [json.loads(x) for x in open(f'{tmp}/seq-{strategy}.jsonl') if '"type": "run"' in x]
    return infos, ghosts, [r['shm']['seconds'] for r in steps]


def wrapped(runs, strategy, tmp):
    infos, ghosts = [], 0
    for i in range(runs):
        out, go = f'{tmp}/wrap-{strategy}-{i}.json', f'{tmp}/wrap-{strategy}-{i}.go'
        launch = f'{tmp}/wrap-{strategy}-{i}.launch.py'
        with open(launch, 'w') as f:
            f.write(EXPERIMENT.format(cmd=pipeline_cmd(out, go, strategy)))
        mark = rosproc.new_mark()
        run = rosproc.PtyProcess([rosproc.ros2(), 'launch', 'expclean_ros', 'wrap.launch.py',
                                  f'file:={launch}', 'cleanup:=none'],
                                 rosproc.marked_env(mark, EXPCLEAN_SHM_ROOT=SHM))
        try:
            infos.append(release(out, go, lambda: run.popen.poll() is None))
            run.wait(300)
        finally:
            run.close()
            rosproc.stop_marked(mark)
        ghosts += NODE in nodes()
    return infos, ghosts


EXPERIMENT = '''
from launch import LaunchDescription
from launch.actions import EmitEvent, ExecuteProcess, RegisterEventHandler
from launch.event_handlers import OnProcessExit
from launch.events import Shutdown


def generate_launch_description():
    crash = ExecuteProcess(cmd={cmd!r}, output='log')
    return LaunchDescription([crash, RegisterEventHandler(OnProcessExit(
        target_action=crash, on_exit=[EmitEvent(event=Shutdown(reason='crashed'))]))])
'''


def step_cost(tables=400, files=10, repeats=15):
    """
    Measure (step ms, table-read ms) on a table of ``tables`` processes.

    The step judges ``files`` new unheld files (in a private directory: nothing of others is
    touched).
    """
    sleepers = []
    while len(proctable.snapshot()) < tables:
        sleepers.append(subprocess.Popen(['sleep', '600']))
    root = tempfile.mkdtemp(prefix='expclean-bench-shm-')
    try:
        step, table = [], []
        for _ in range(repeats):
            record = ShmRecord.take(root)
            for k in range(files):
                with open(f'{root}/psm_bench_{k}', 'wb') as f:
                    f.write(b'\0' * 4096)
            start = time.perf_counter()
            result = clean_run_shm(record, RunEvidence(root))
            step.append(time.perf_counter() - start)
            assert len(result.data['kept']) == files  # unknown: none is removed
            start = time.perf_counter()
            proctable.snapshot()
            table.append(time.perf_counter() - start)
            for k in range(files):
                os.unlink(f'{root}/psm_bench_{k}')
        return statistics.median(step) * 1e3, statistics.median(table) * 1e3, len(
            proctable.snapshot())
    finally:
        for s in sleepers:
            s.kill()  # our own children, by pid
            s.wait()
        os.rmdir(root)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--runs', type=int, default=10)
    parser.add_argument('--quick', action='store_true', help='2 runs per way and strategy')
    args = parser.parse_args()
    runs = 2 if args.quick else args.runs
    if rosproc.missing_reason():
        print(f'skipped: {rosproc.missing_reason()}')
        return 0
    try:
        import torch  # noqa: F401
    except ImportError:
        print('skipped: torch not installed (pip install torch==2.13.0, the CPU wheel)')
        return 0
    subprocess.run([rosproc.ros2(), 'daemon', 'start'], env=env(), capture_output=True)
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix='expclean-bench-torch-') as tmp:
            for strategy in ('file_system', 'file_descriptor'):
                for way in ('plain', 'expclean run', 'wrap'):
                    ram0 = rosproc.ram_used_bytes()
                    start = time.monotonic()
                    step_s = []
                    if way == 'plain':
                        infos, ghosts = plain(runs, strategy, tmp)
                    elif way == 'wrap':
                        infos, ghosts = wrapped(runs, strategy, tmp)
                    else:
                        infos, ghosts, step_s = sequencer(runs, strategy, tmp)
                    left = ours(infos)
                    rows.append({'strategy': strategy, 'way': way, 'runs': runs,
                                 'shm_mib_per_run': allocated(left) / MIB / runs,
                                 'files_per_run': len(left) / runs,
                                 'ram_drift_mib_per_run':
                                     (rosproc.ram_used_bytes() - ram0) / MIB / runs,
                                 'ghosts': ghosts, 'seconds_per_run':
                                     (time.monotonic() - start) / runs,
                                 'step_ms': statistics.median(step_s) * 1e3 if step_s else None})
                    for name in left:  # our runs' files (names we recorded): not the next way's
                        os.unlink(f'{SHM}/{name}')
    finally:
        rosproc.stop_daemon(env())
    step_ms, table_ms, size = step_cost()
    print(f'{"strategy":<16} {"way":<13} {"shm MiB/run":>11} {"files/run":>9} '
          f'{"RAM MiB/run":>11} {"ghosts":>6} {"s/run":>6}')
    for r in rows:
        print(f'{r["strategy"]:<16} {r["way"]:<13} {r["shm_mib_per_run"]:11.1f} '
              f'{r["files_per_run"]:9.1f} {r["ram_drift_mib_per_run"]:11.1f} '
              f'{r["ghosts"]:>4}/{runs:<1} '
              f'{r["seconds_per_run"]:6.1f}')
    print(f'/dev/shm step on a {size}-process table with 10 files to judge: {step_ms:.1f} ms '
          f'= {step_ms / table_ms:.2f} x one read of the table ({table_ms:.1f} ms)')
    print(json.dumps({'rows': rows, 'step_ms': step_ms, 'table_ms': table_ms,
                      'processes': size}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
