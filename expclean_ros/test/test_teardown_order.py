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

"""Orderly teardown on real processes: tops of the trees first, one SIGINT each, ever."""

import os
import subprocess
import sys
import uuid

from helpers.nodes import reap_tagged, wait_for
from expclean_ros.core.runs import run_tag
from expclean_ros.core.procs.selection import Selection
from expclean_ros.core.procs.teardown import teardown

TIMEOUTS = dict(sigint_timeout_s=3.0, sigterm_timeout_s=2.0, sigkill_timeout_s=1.0)

# A child that counts the SIGINTs it gets for 0.5 s after the first, then writes the count.
CHILD = ('import signal, sys, time\n'
         'n = []\n'
         'signal.signal(signal.SIGINT, lambda *a: n.append(1))\n'
         'open(sys.argv[1] + ".ready", "w").close()\n'
         'while not n:\n'
         '    time.sleep(0.01)\n'
         'time.sleep(0.5)\n'
         'open(sys.argv[1], "w").write(str(len(n)))\n')
# A parent like ros2 launch: on SIGINT it interrupts its child, waits for it, notes it, exits.
# With 'ignore', it ignores SIGINT (a node that never stops on Ctrl-C) and sleeps.
PARENT = ('import signal, subprocess, sys, time\n'
          'child = subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]])\n'
          'if sys.argv[3] == "ignore":\n'
          '    signal.signal(signal.SIGINT, signal.SIG_IGN)\n'
          '    time.sleep(1000)\n'
          'try:\n'
          '    time.sleep(1000)\n'
          'except KeyboardInterrupt:\n'
          '    child.send_signal(signal.SIGINT)\n'
          '    child.wait()\n'
          '    open(sys.argv[2] + ".parent", "w").write("orderly")\n')


def _start(tmp_path, mode):
    tag = 'order-' + uuid.uuid4().hex
    out = str(tmp_path / 'child')
    env = dict(os.environ, **run_tag.tag_environment(tag))
    parent = subprocess.Popen([sys.executable, '-c', PARENT, CHILD, out, mode], env=env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    assert wait_for(lambda: os.path.exists(out + '.ready'), 30)
    return parent, tag, out


def test_top_is_interrupted_first_and_stops_its_child_with_one_sigint(tmp_path):
    parent, tag, out = _start(tmp_path, 'orderly')
    try:
        result = teardown(Selection(tag=tag), **TIMEOUTS)
        assert not result.left, result.summary()
        assert open(out + '.parent').read() == 'orderly'  # its own shutdown ran to the end
        assert open(out).read() == '1'  # the parent's SIGINT only, none from us
        assert {p.stage for p in result.processes} == {'sigint'}, result.summary()
    finally:
        reap_tagged(parent, tag)


def test_child_of_a_top_that_ignores_sigint_gets_one_after_the_grace(tmp_path):
    parent, tag, out = _start(tmp_path, 'ignore')
    try:
        result = teardown(Selection(tag=tag), **TIMEOUTS)
        assert not result.left, result.summary()
        assert open(out).read() == '1'
        assert result.stage_of(parent.pid) == 'sigterm', result.summary()
        assert [p.exit_code for p in result.processes if p.pid == parent.pid] == [-15]
    finally:
        reap_tagged(parent, tag)


def test_presignalled_processes_get_no_sigint_from_us(tmp_path):
    parent, tag, out = _start(tmp_path, 'orderly')
    try:
        parent.send_signal(2)  # as launch does for its children: the parent stops its child
        result = teardown(Selection(tag=tag), presignalled=lambda info: info.pid == parent.pid,
                          **TIMEOUTS)
        assert not result.left, result.summary()
        assert open(out + '.parent').read() == 'orderly'
        assert open(out).read() == '1'  # the parent's SIGINT only
    finally:
        reap_tagged(parent, tag)
