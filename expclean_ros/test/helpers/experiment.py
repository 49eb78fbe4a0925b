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
The experiment of the batch-sequencer tests, and its run table.

Run as a script (``python experiment.py experiment OUT INDEX SECS CODE``),
this file is the experiment: it records which processes of *other* runs of
the test are alive when it starts, starts a child with a grandchild, leaks a
double-forked orphan (new session, re-parented to init), then sleeps ``SECS``
(0 once ``OUT/fast`` exists) and exits with ``CODE``.
"""

import json
import os
import signal
import sys
import time

from expclean_ros.core.procs import proctable
from expclean_ros.core.procs.selection import DEFAULT_TAG_VARIABLE

HERE = os.path.abspath(__file__)
MARK = 'EXPCLEAN_SEQ_TEST_MARK'
TEMPLATE = [sys.executable, HERE, 'experiment', '{out}', '{run_index}', '{secs}', '{code}']


def tagged_with_mark(mark):
    """{pid: run id} of live (non-zombie) processes carrying ``MARK=mark`` and a run tag."""
    found = {}
    for pid, info in proctable.snapshot().items():
        if info.state == 'Z':
            continue
        status, value = proctable.read_environ_var(pid, MARK)
        if status != proctable.ENV_OK or value != mark:
            continue
        status, tag = proctable.read_environ_var(pid, DEFAULT_TAG_VARIABLE)
        if status == proctable.ENV_OK and tag:
            found[pid] = tag
    return found


def _experiment(out, index, secs, code):
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # die quietly on Ctrl-C, like a node
    own = os.environ[DEFAULT_TAG_VARIABLE]
    foreign = {pid: tag for pid, tag in tagged_with_mark(os.environ[MARK]).items() if tag != own}
    child = os.fork()
    if child == 0:  # child with a grandchild, both idle
        if os.fork() == 0:
            os.execvp('sleep', ['sleep', '1000'])
        signal.pause()
        os._exit(0)
    mid = os.fork()
    if mid == 0:  # double fork: the orphan ends up re-parented, in a session of its own
        os.setsid()
        if os.fork() == 0:
            os.execvp('sleep', ['sleep', '1001'])
        os._exit(0)
    os.waitpid(mid, 0)
    pids = [p for p, t in tagged_with_mark(os.environ[MARK]).items() if t == own]
    path = os.path.join(out, f'start-{index}.json')
    with open(path + '.part', 'w') as f:  # renamed whole: a reader never sees it half written
        json.dump({'foreign': foreign, 'pids': pids, 'run_id': own}, f)
    os.rename(path + '.part', path)
    if not os.path.exists(os.path.join(out, 'fast')):
        time.sleep(float(secs))
    sys.exit(int(code))


def write_table(path, rows, out):
    with open(path, 'w') as f:
        f.write('out,secs,code\n')
        for secs, code in rows:
            f.write(f'{out},{secs},{code}\n')
    return str(path)


if __name__ == '__main__' and sys.argv[1:2] == ['experiment']:
    _experiment(*sys.argv[2:6])
