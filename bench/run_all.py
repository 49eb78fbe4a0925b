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
Run every bench/bench_*.py in turn with this Python; exit 1 if any failed.

Each bench inherits the environment and gets ``--quick`` only when its
``--help`` lists that option (benches without argparse are not probed, since
they might take ``--help`` as a positional argument and run for real).

    python bench/run_all.py [--full] [NAME ...]   (e.g. ``run_all.py bench_node``)
"""

import argparse
import glob
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
HELP_TIMEOUT_S = 60.0


def benches(names=()):
    """
    Return the bench scripts, sorted.

    Only those named (without ``.py``) when names are given.
    """
    paths = sorted(glob.glob(os.path.join(HERE, 'bench_*.py')))
    if names:
        wanted = {n[:-3] if n.endswith('.py') else n for n in names}
        unknown = wanted - {os.path.basename(p)[:-3] for p in paths}
        if unknown:
            raise ValueError(f'no such bench: {", ".join(sorted(unknown))}')
        paths = [p for p in paths if os.path.basename(p)[:-3] in wanted]
    return paths


def supports_quick(path):
    """Return whether the bench's ``--help`` output lists a ``--quick`` option."""
    with open(path) as f:
        text = f.read()
    if 'argparse' not in text and 'parse_runs' not in text:  # runs_option.parse_runs
        return False
    code, out = run([sys.executable, path, '--help'], timeout_s=HELP_TIMEOUT_S, capture=True)
    return code == 0 and '--quick' in out


def run(argv, *, timeout_s=None, capture=False):
    """Run ``argv`` in its own session; on timeout kill that session. Return (code, output)."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, start_new_session=True,
                            stdout=subprocess.PIPE if capture else None,
                            stderr=subprocess.STDOUT if capture else None,
                            universal_newlines=True)
    try:
        out, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the session we created for this bench
        out, _ = proc.communicate()
        return 124, out or ''
    except KeyboardInterrupt:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait()
        raise
    return proc.returncode, out or ''


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--full', action='store_true',
                        help='do not pass --quick, even to benches that support it')
    parser.add_argument('names', nargs='*', help='benches to run (e.g. bench_node)')
    args = parser.parse_args(argv)
    try:
        paths = benches(args.names)
    except ValueError as exc:
        parser.error(str(exc))
    failed = []
    for path in paths:
        name = os.path.basename(path)
        cmd = [sys.executable, path]
        if not args.full and supports_quick(path):
            cmd.append('--quick')
        print(f'\n=== {name} {" ".join(cmd[2:])}'.rstrip(), flush=True)
        start = time.monotonic()
        code, _ = run(cmd)
        print(f'=== {name}: exit {code} in {time.monotonic() - start:.1f} s', flush=True)
        if code != 0:
            failed.append(f'{name} (exit {code})')
    print(f'\n{len(paths) - len(failed)}/{len(paths)} benches passed'
          + (f'; failed: {", ".join(failed)}' if failed else ''), flush=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
