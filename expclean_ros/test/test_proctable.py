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

"""Reading one variable from /proc/PID/environ, on real processes."""

import os
import subprocess

from helpers.nodes import wait_for
from expclean_ros.core.procs import proctable


def _sleeper(env):
    return subprocess.Popen(['sleep', '30'], env=env, stdin=subprocess.DEVNULL,
                            start_new_session=True)


def test_environ_states_of_real_processes():
    tagged = _sleeper({'EXPCLEAN_RUN_ID': 'run-x', 'PATH': os.environ['PATH']})
    empty = _sleeper({})  # an empty environment reads like a process in mid-execve
    try:  # past execve: the command line is there once the new environment is
        assert wait_for(lambda: all(proctable.read_cmdline(p.pid) == 'sleep 30'
                                    for p in (tagged, empty)), 60)
        assert proctable.read_environ_var(tagged.pid, 'EXPCLEAN_RUN_ID') == ('ok', 'run-x')
        assert proctable.read_environ_var(tagged.pid, 'ROS_DOMAIN_ID') == ('unset', None)
        assert proctable.read_environ_var(empty.pid, 'EXPCLEAN_RUN_ID') == ('empty', None)
    finally:
        for p in (tagged, empty):
            p.kill()  # by PID: our own children
            p.wait(5)
    assert proctable.read_environ_var(tagged.pid, 'EXPCLEAN_RUN_ID') == ('gone', None)


def test_tag_selection_reads_only_processes_holding_the_tag_bytes():
    """
    The first pass keeps every environment holding the bytes ``VAR=tag`` and every empty one.

    Empty ones (mid-execve) are for the exact checks; the rest are dropped. The selection then
    chooses exactly the tagged process, never a near miss nor the empty one.
    """
    from expclean_ros.core.procs.scanner import select
    from expclean_ros.core.procs.selection import Selection

    tag = 'run-' + os.urandom(8).hex()
    base = {'PATH': os.environ['PATH']}
    procs = {
        'tagged': _sleeper(dict(base, EXPCLEAN_RUN_ID=tag)),
        'longer value': _sleeper(dict(base, EXPCLEAN_RUN_ID=tag + 'x')),
        'other variable': _sleeper(dict(base, XEXPCLEAN_RUN_ID=tag)),
        'value elsewhere': _sleeper(dict(base, OTHER=f'EXPCLEAN_RUN_ID={tag}x')),
        'empty': _sleeper({}),
        'another run': _sleeper(dict(base, EXPCLEAN_RUN_ID='run-0')),
    }
    try:
        pids = {name: p.pid for name, p in procs.items()}
        # Popen returns while execve may still be setting up the new environment, which
        # then reads as empty (and a first pass keeps it): wait until each shows its own.
        assert wait_for(lambda: all(proctable.read_environ_var(pid, 'PATH')[0] == 'ok'
                                    for name, pid in pids.items() if name != 'empty'), 10)
        first = set(proctable.environ_may_hold(f'EXPCLEAN_RUN_ID={tag}'.encode()))
        # the bytes are there (near misses included), or there is nothing to read yet
        assert set(pids.values()) - {pids['another run']} <= first
        assert pids['another run'] not in first
        chosen = {c.pid for c in select(Selection(tag=tag))}
        assert chosen == {pids['tagged']}
    finally:
        for p in procs.values():
            p.kill()  # by PID: our own children
            p.wait(5)


def test_start_ticks_run_on_the_boot_ticks_clock():
    """
    What the tag scan relies on to trust its first reading of an environment.

    A process started after a boot_ticks() reading never shows start_ticks below it.
    """
    before = proctable.boot_ticks()
    p = _sleeper({})
    try:
        after = proctable.boot_ticks()
        info = proctable.read_proc(p.pid)
        assert before <= info.start_ticks <= after
        assert proctable.read_proc(1).start_ticks <= before
    finally:
        p.kill()  # by PID: our own child
        p.wait(5)


def test_real_uid_of_ours_another_users_and_a_gone_process():
    """
    The real uid the other-users rule reads: ours, nobody's, and None once a process is gone.

    It is read through a pidfd where the kernel offers it, else from /proc/PID/status.
    """
    import shutil

    import pytest
    if os.geteuid() != 0 or shutil.which('setpriv') is None:
        pytest.skip('starting a process as nobody needs root and setpriv')
    nobody = subprocess.Popen(['setpriv', '--reuid', 'nobody', '--regid', 'nogroup',
                               '--clear-groups', 'sleep', '30'], stdin=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: proctable.read_cmdline(nobody.pid).startswith('sleep'), 10)
        assert proctable.real_uid(nobody.pid) == 65534
        assert proctable.real_uid(os.getpid()) == os.getuid()
    finally:
        nobody.kill()  # by PID: our own child
        nobody.wait(5)
    assert proctable.real_uid(nobody.pid) is None
