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
The leaky e2e pipeline as two real ``expclean run`` batches, their report and its screenshot.

The pipeline of ``bench_e2e.py`` (its talker's double-forked helper holds a shared-memory
buffer of 32 MiB) runs forever, so each run ends by ``--timeout``; the batch's teardown
stops everything carrying the run's tag. ``keep-shm`` runs with ``--keep-shm`` (the
helpers' buffers stay), ``default`` removes what each run left in /dev/shm. Each batch in
a /dev/shm directory of its own (``EXPCLEAN_SHM_ROOT``), empty at its start, so other
programs' files on a shared machine stay out of the figures; it is removed at its end.

Run: ``python bench/e2e_batch.py DIR [--runs N] [--png PATH]`` (the project venv and ROS env):
writes ``DIR/keep-shm.jsonl``, ``DIR/default.jsonl``, ``DIR/report.html`` and, with
``--png``, a headless Chromium screenshot of the page.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PIPELINE = os.path.join(HERE, '..', 'expclean_ros', 'test', 'e2e', 'pipeline.launch.py')
CLI = [sys.executable, '-c', 'import sys; from expclean_ros.cli import main; sys.exit(main())']
MODES = (('keep-shm', ['--keep-shm']), ('default', []))


def batch(folder, name, options, runs, env):
    """Run one ``expclean run`` batch of the pipeline; return its ledger."""
    table = os.path.join(folder, 'runs.csv')
    with open(table, 'w') as f:
        f.write('run\n' + ''.join(f'{i}\n' for i in range(1, runs + 1)))
    ledger = os.path.join(folder, f'{name}.jsonl')
    ros2 = os.path.join(os.path.dirname(sys.executable), 'ros2')
    subprocess.run([*CLI, 'run', table, '--ledger', ledger, '--quick', '--timeout', '8',
                    '--stop-timeouts', '2,2,1', '--log-dir', os.path.join(folder, f'{name}-logs'),
                    *options, '--', ros2 if os.access(ros2, os.X_OK) else 'ros2', 'launch',
                    os.path.abspath(PIPELINE)], env=env, check=False, stdin=subprocess.DEVNULL)
    return ledger


def screenshot(page, png):
    """Draw ``page`` with headless Chromium into ``png`` (1200 px wide, 64 colours)."""
    with tempfile.TemporaryDirectory() as profile:
        cmd = [shutil.which('chromium') or 'chromium', '--headless', '--disable-gpu',
               f'--user-data-dir={profile}', '--no-first-run', '--hide-scrollbars',
               '--disable-background-networking', '--host-resolver-rules=MAP * ~NOTFOUND',
               f'--screenshot={os.path.abspath(png)}', '--window-size=1200,1500',
               f'file://{os.path.abspath(page)}']
        if os.geteuid() == 0:
            cmd.insert(1, '--no-sandbox')  # Chromium refuses to run as root with its sandbox
        subprocess.run(cmd, check=True, capture_output=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    from PIL import Image  # installed with matplotlib
    Image.open(png).convert('RGB').quantize(colors=64).save(png, optimize=True)  # small


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('folder', help='an existing folder for the ledgers and the page')
    parser.add_argument('--runs', type=int, default=5, help='runs per batch (default: 5)')
    parser.add_argument('--png', default=None, help='also write a screenshot of the page')
    args = parser.parse_args(argv)
    if not os.path.isdir(args.folder) or args.runs < 3:
        parser.error('give an existing folder and at least 3 runs (a drift needs 3)')
    ledgers = []
    for name, options in MODES:  # each batch its own /dev/shm directory, empty at its start
        shm = tempfile.mkdtemp(prefix='expclean-e2e-shm-')
        env = dict(os.environ, E2E_HELPER_SHM_MIB='32', EXPCLEAN_SHM_ROOT=shm)
        try:
            ledgers.append(batch(args.folder, name, options, args.runs, env))
        finally:
            shutil.rmtree(shm, ignore_errors=True)
    page = os.path.join(args.folder, 'report.html')
    labels = [arg for name, _ in MODES for arg in ('--label', f'expclean run ({name})')]
    subprocess.run([*CLI, 'report', *ledgers, *labels, '-o', page], check=True)
    subprocess.run([*CLI, 'report', *ledgers, *labels, '--text'], check=True)
    if args.png:
        screenshot(page, args.png)
    return 0


if __name__ == '__main__':
    sys.exit(main())
