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
The test run's guard.

A test blocked in a C call that holds the GIL ends as a failure of that one test, with the stacks
of every thread, and the run goes on (helpers/watchdog.py).
"""

import os
import subprocess
import sys

import pytest

pytest.importorskip('xdist', reason='pytest-xdist not installed (make setup installs it)')

HERE = os.path.dirname(os.path.abspath(__file__))

CONFTEST = f'''
import sys
sys.path.insert(0, {HERE!r})
from helpers.watchdog_plugin import pytest_runtest_protocol, pytest_unconfigure  # noqa: F401
'''

BLOCKING_TESTS = '''
import ctypes
import os
import subprocess
import pytest

@pytest.mark.timeout(2)
def test_blocks_holding_the_gil():
    child = subprocess.Popen(['sleep', '600'], start_new_session=True)
    with open(os.environ['CHILD_PID_FILE'], 'w') as f:
        f.write(str(child.pid))
    libc = ctypes.PyDLL(None)                 # PyDLL: the call keeps the GIL
    mutex = ctypes.create_string_buffer(64)   # zeroed: PTHREAD_MUTEX_INITIALIZER
    libc.pthread_mutex_lock(mutex)
    libc.pthread_mutex_lock(mutex)            # a normal mutex locked twice waits forever

def test_after_the_hang():
    assert True
'''


def _gone(pid):
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] == 'Z'
    except FileNotFoundError:
        return True


def test_a_test_blocked_in_c_fails_with_stacks_and_the_run_goes_on(tmp_path):
    suite = tmp_path / 'suite'
    suite.mkdir()
    (suite / 'conftest.py').write_text(CONFTEST)
    (suite / 'test_blocking.py').write_text(BLOCKING_TESTS)
    base = tmp_path / 'base'
    env = dict(os.environ, EXPCLEAN_WATCHDOG_GRACE_S='1',
               CHILD_PID_FILE=str(tmp_path / 'child.pid'))
    # pytest-timeout's own limit (2 s) cannot fire inside the C call; the watchdog's (3 s) does.
    proc = subprocess.run(
        [sys.executable, '-m', 'pytest', '-p', 'xdist', '-n', '1', '-p', 'no:cacheprovider',
         f'--basetemp={base}', str(suite)],
        cwd=suite, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=240)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert 'test_blocks_holding_the_gil still running after 3 s' in out, out
    assert "crashed while running 'test_blocking.py::test_blocks_holding_the_gil'" in out, out
    assert '1 failed, 1 passed' in out, out
    # Every thread's Python stack, the hung line of the test among them ...
    assert 'Python stacks follow' in out and 'in test_blocks_holding_the_gil' in out, out
    # ... and its native stack, where py-spy or gdb is at hand.
    if 'no py-spy or gdb here' not in out:
        assert 'pthread_mutex_lock' in out, out
    # What the hung test had started is gone too.
    child = int((tmp_path / 'child.pid').read_text())
    assert _gone(child), f'the hung test\'s child {child} outlived it'
