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
pytest hooks that put every test under ``watchdog.py``'s limit (imported by conftest.py).

The limit of a test is its pytest-timeout limit (``@pytest.mark.timeout(N)`` or the
``timeout`` ini value) plus ``EXPCLEAN_WATCHDOG_GRACE_S`` (default 60 s): pytest-timeout
ends a test that hangs in Python with an ordinary failure; the watchdog ends one that
hangs where no signal handler can run.
"""

import os
import subprocess
import sys

import pytest

WATCHDOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'watchdog.py')
DEFAULT_LIMIT_S = 300.0


class Watchdog:
    """The watchdog process of this test process."""

    def __init__(self):
        self.popen = subprocess.Popen(
            [sys.executable, '-I', '-S', WATCHDOG, str(os.getpid())],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)

    def _send(self, line):
        try:
            self.popen.stdin.write(line.encode() + b'\n')
            self.popen.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass

    def arm(self, seconds, test_id):
        self._send(f'arm {seconds:g} {test_id}')

    def disarm(self):
        self._send('disarm')

    def close(self):
        try:
            self.popen.stdin.close()
        except BrokenPipeError:
            pass
        self.popen.wait(30)


def _limit(item):
    marker = item.get_closest_marker('timeout')
    if marker is not None and marker.args:
        seconds = float(marker.args[0])
    else:
        try:
            seconds = float(item.config.getini('timeout') or DEFAULT_LIMIT_S)
        except ValueError:  # pytest-timeout not installed
            seconds = DEFAULT_LIMIT_S
    return seconds + float(os.environ.get('EXPCLEAN_WATCHDOG_GRACE_S', '60'))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    dog = getattr(item.config, '_expclean_watchdog', None)
    if dog is None:
        dog = item.config._expclean_watchdog = Watchdog()
    dog.arm(_limit(item), item.nodeid)
    try:
        yield
    finally:
        dog.disarm()


def pytest_unconfigure(config):
    dog = getattr(config, '_expclean_watchdog', None)
    if dog is not None:
        dog.close()
