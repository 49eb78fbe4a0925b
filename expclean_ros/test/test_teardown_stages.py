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
The teardown engine's stages one by one, on real processes: select, signal, wait, escalate, verify.

Each child is a real Python process in a session of its own, tagged with a fresh run tag. It
notes every SIGINT and SIGTERM it gets in a file, then exits by that signal or stays, as told.
"""

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid

import pytest

from helpers.nodes import reap_tagged, wait_for
from expclean_ros.core.procs.outcome import LEFT_RUNNING
from expclean_ros.core.procs.patterns import PatternTimeout
from expclean_ros.core.procs.pidfd import HAVE_PIDFD, SIGNAL_VIA
from expclean_ros.core.procs.selection import Selection
from expclean_ros.core.procs.teardown import teardown
from expclean_ros.core.procs.teardown_stages import Escalation
from expclean_ros.core.runs import run_tag

# argv: LOG ON_INT ON_TERM KID SCRIPT; ON_*: exit | stay; KID: '' or 'ON_INT,ON_TERM' (a child
# of this one, noting to LOG.kid, its pid in LOG.kid.pid).
CHILD = ('import os, signal, subprocess, sys, time\n'
         'log, on_int, on_term, kid = sys.argv[1:5]\n'
         'def got(sig, frame):\n'
         '    with open(log, "a") as f:\n'
         '        f.write(signal.Signals(sig).name + "\\n")\n'
         '    if (on_int if sig == signal.SIGINT else on_term) == "exit":\n'
         '        signal.signal(sig, signal.SIG_DFL)\n'
         '        os.kill(os.getpid(), sig)\n'
         'signal.signal(signal.SIGINT, got)\n'
         'signal.signal(signal.SIGTERM, got)\n'
         'if kid:\n'
         '    k = subprocess.Popen([sys.executable, "-c", sys.argv[5], log + ".kid",\n'
         '                          *kid.split(","), "", sys.argv[5]])\n'
         '    open(log + ".kid.pid", "w").write(str(k.pid))\n'
         '    while not os.path.exists(log + ".kid.ready"):\n'
         '        time.sleep(0.01)\n'
         'open(log + ".ready", "w").close()\n'
         'while True:\n'
         '    signal.pause()\n')


class Run:
    """A fresh tag; the processes started under it; every one of them killed at the end."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.tag = 'stages-' + uuid.uuid4().hex
        self.env = dict(os.environ, **run_tag.tag_environment(self.tag))
        self.procs = []

    def child(self, name, on_int='exit', on_term='exit', kid=''):
        """Start a tagged child; return (its Popen, the path of its signal notes)."""
        log = str(self.tmp_path / name)
        proc = self._popen([sys.executable, '-c', CHILD, log, on_int, on_term, kid, CHILD])
        assert wait_for(lambda: os.path.exists(log + '.ready'), 30), name
        return proc, log

    def owner(self, seconds):
        """Start a tagged ``sleep`` that calls itself ``torch_shm_manager``."""
        return self._popen(['torch_shm_manager', str(seconds)], executable=shutil.which('sleep'))

    def _popen(self, args, **kwargs):
        proc = subprocess.Popen(args, env=self.env, start_new_session=True,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, **kwargs)
        self.procs.append(proc)
        return proc

    def close(self):
        for proc in self.procs:
            reap_tagged(proc, self.tag)


@pytest.fixture
def run(tmp_path):
    r = Run(tmp_path)
    try:
        yield r
    finally:
        r.close()


def notes(log):
    """Return the signals a child noted, in order."""
    try:
        with open(log) as f:
            return f.read().split()
    except FileNotFoundError:
        return []


def engine(run, timeouts=(1.0, 1.0, 1.0), **kwargs):
    return Escalation(Selection(tag=run.tag), timeouts, **kwargs)


@contextlib.contextmanager
def selected(run, signal_=None, **kwargs):
    """Yield an engine that has selected the run (and begun the stage of ``signal_``); close it."""
    e = engine(run, **kwargs)
    try:
        e.select()
        if signal_ is not None:
            e.signal(signal_, signal_.name.lower())
        yield e
    finally:
        e.close()


def by_pid(e, pid):
    return [t for t in e.tracked.values() if t.cand.pid == pid][0]


def test_select_tracks_new_processes_and_signals_none(run):
    proc, log = run.child('a')
    e = engine(run)
    try:
        new = e.select()
        assert [t.cand.pid for t in new] == [proc.pid]
        assert (new[0].pidfd is not None) == HAVE_PIDFD
        assert e.select('sigint') == []  # tracked already: not new
        second, log2 = run.child('b')
        assert [t.cand.pid for t in e.select('sigint')] == [second.pid]
        time.sleep(0.2)
        assert proc.poll() is None and second.poll() is None
        assert notes(log) == [] and notes(log2) == []
    finally:
        e.close()
    assert all(t.pidfd is None for t in e.tracked.values())


def test_select_raises_on_the_first_scan_only():
    sel = Selection(patterns=('expclean-no-such-' + uuid.uuid4().hex,), time_limit_s=0.0)
    e = Escalation(sel)
    with pytest.raises(PatternTimeout):
        e.select()
    assert e.select('sigterm') is None  # a rescan: logged, and nothing tracked
    e.rescan(signal.SIGTERM, 'sigterm')
    assert e.tracked == {}


def test_select_holds_an_owner_back_and_marks_the_presignalled(run):
    owner = run.owner(60)
    proc, log = run.child('a')
    e = engine(run, presignalled=lambda info: info.pid == proc.pid)
    try:
        new = e.select()
        assert [t.cand.pid for t in new] == [proc.pid]
        assert new[0].sigint  # got its SIGINT from someone else: none from us
        assert [e.tracked[k].cand.pid for k in e.held] == [owner.pid]
        assert list(e.signalled().values()) == new
    finally:
        e.close()
    e = engine(run, owner_grace_s=0)
    try:
        assert {t.cand.pid for t in e.select()} == {owner.pid, proc.pid}
        assert not e.held
    finally:
        e.close()


def test_signal_sigint_goes_to_the_tops_once_and_later_to_the_rest(run):
    top, log = run.child('top', on_int='stay', kid='stay,stay')
    with selected(run, signal.SIGINT) as e:
        assert len(e.tracked) == 2
        assert wait_for(lambda: notes(log) == ['SIGINT'], 10)
        time.sleep(0.2)
        assert notes(log + '.kid') == []  # its parent is being stopped: it stops its children
        assert e.interrupt(tops_only=False) == 1
        assert wait_for(lambda: notes(log + '.kid') == ['SIGINT'], 10)
        assert e.interrupt(tops_only=False) == 0  # no process gets two SIGINTs from us
        e.signal(signal.SIGINT, 'sigint')
        time.sleep(0.2)
        assert notes(log) == ['SIGINT'] and notes(log + '.kid') == ['SIGINT']


def test_signal_reaches_every_live_process_and_new_ones_at_once(run):
    first, log = run.child('first', on_term='stay')
    with selected(run) as e:
        late, late_log = run.child('late', on_term='stay')
        e.signal(signal.SIGTERM, 'sigterm')
        assert by_pid(e, late.pid)  # found by the stage's rescan
        assert wait_for(lambda: notes(log) == ['SIGTERM'] and notes(late_log) == ['SIGTERM'], 10)
        assert e.killed == 0


def test_wait_returns_true_once_everyone_is_gone(run):
    proc, log = run.child('a')
    with selected(run, signal.SIGINT) as e:
        assert e.wait(signal.SIGINT, 'sigint', 30.0)
        t = by_pid(e, proc.pid)
        assert (t.stage, t.exit_code, t.pidfd) == ('sigint', -signal.SIGINT, None)


def test_wait_gives_up_at_the_deadline(run):
    proc, log = run.child('stays', on_int='stay')
    with selected(run, signal.SIGINT) as e:
        assert not e.wait(signal.SIGINT, 'sigint', 0.3)
        assert by_pid(e, proc.pid).stage is None and proc.poll() is None
        assert notes(log) == ['SIGINT']


def test_wait_sends_the_rest_their_sigint_with_one_more_grace(run):
    top, log = run.child('top', on_int='stay', kid='exit,exit')
    kid_pid = int(open(log + '.kid.pid').read())
    with selected(run, signal.SIGINT) as e:
        assert not e.wait(signal.SIGINT, 'sigint', 1.5)
        assert e.rest_done
        # seen gone in the grace that followed the rest's SIGINT, not after the stage
        assert by_pid(e, kid_pid).stage == 'sigint'
        assert notes(log) == ['SIGINT'] and notes(log + '.kid') == ['SIGINT']
        assert by_pid(e, top.pid).stage is None


def test_escalate_stops_each_at_its_stage_and_verify_says_so(run):
    start = time.monotonic()
    a, log_a = run.child('a')
    b, log_b = run.child('b', on_int='stay')
    c, log_c = run.child('c', on_int='stay', on_term='stay')
    with selected(run, timeouts=(2.0, 2.0, 5.0)) as e:
        e.escalate()
    stages = {p: by_pid(e, p).stage for p in (a.pid, b.pid, c.pid)}
    assert stages == {a.pid: 'sigint', b.pid: 'sigterm', c.pid: 'sigkill'}
    assert e.killed == 1
    assert notes(log_a) == ['SIGINT'] and notes(log_b) == ['SIGINT', 'SIGTERM']
    assert notes(log_c) == ['SIGINT', 'SIGTERM']
    result = e.verify(start)
    assert result.stopped == 3 and not result.left and result.killed == 1
    assert (result.mechanism, result.signal_via) == ('tag', SIGNAL_VIA)
    assert [p.pid for p in result.processes] == sorted((a.pid, b.pid, c.pid))


def test_verify_reports_who_is_left_and_why(run):
    start = time.monotonic()
    proc, log = run.child('a')
    with selected(run) as e:
        pass
    result = e.verify(start)
    assert [(p.pid, p.stage, p.why) for p in result.processes] == [(proc.pid, 'left',
                                                                    LEFT_RUNNING)]
    assert result.stopped == 0 and proc.poll() is None


def test_release_owners_after_their_clients_grace_then_stages(run):
    proc, log = run.child('client')
    quits = run.owner(2.0)  # exits by itself within its grace
    stays = run.owner(60)   # does not: the stages follow
    with selected(run, timeouts=(3.0, 3.0, 3.0), owner_grace_s=5.0) as e:
        e.escalate()
        assert by_pid(e, proc.pid).stage == 'sigint'
        assert stays.poll() is None  # a sleep: no signal while held
        assert e.killed == 0
        e.release_owners()
        assert not e.holding and not e.held
    assert by_pid(e, quits.pid).stage == 'exited'
    assert by_pid(e, stays.pid).stage == 'sigint'


def test_a_failing_after_sigkill_hook_is_logged_not_raised(run, caplog):
    proc, log = run.child('a', on_int='stay', on_term='stay')

    def hook(killed):
        raise RuntimeError('hook broke')

    with caplog.at_level(logging.ERROR):
        result = teardown(Selection(tag=run.tag), 0.2, 0.2, 5.0, after_sigkill=hook)
    assert result.stage_of(proc.pid) == 'sigkill' and result.killed == 1
    assert 'after_sigkill hook failed' in caplog.text
