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

"""The one end-of-run routine (core/runs/end_of_run.py) on a real tagged process tree."""

import os
import subprocess
import sys

from expclean_ros.core.step_result import FAILED, OK, StepResult
from expclean_ros.core.procs.escalation import StopTimeouts
from expclean_ros.core.procs.scanner import select
from expclean_ros.core.procs.selection import Selection
from expclean_ros.core.runs.end_of_run import RunStart, end_run
from expclean_ros.core.runs.tagged_start import new_run_id
from helpers.proctree import scene_env, start_scene

FAST = StopTimeouts(0.5, 0.5, 1.0)


class Step:
    """A plugged step that notes when it ran and how many of the run's processes lived then."""

    def __init__(self, name, selection, said, fail=False):
        self.name, self._selection, self._said, self._fail = name, selection, said, fail

    def observe(self):
        self._said.append((f'{self.name}.observe', len(list(select(self._selection)))))

    def settle(self):
        self._said.append((f'{self.name}.settle', len(list(select(self._selection)))))
        if self._fail:
            raise RuntimeError('this step fails')
        return StepResult(self.name, OK, 'done')


def _decoy():
    """Start the scene's own command without the tag: it must outlive the end of the run."""
    env = {k: v for k, v in os.environ.items() if k != 'EXPCLEAN_RUN_ID'}
    return subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'], env=env,
                            stdin=subprocess.DEVNULL, start_new_session=True)


def test_each_stage_in_order_and_a_failing_step_never_stops_the_rest():
    tag = new_run_id()
    selection = Selection(tag=tag)
    said = []
    decoy = _decoy()
    run = RunStart.begin(selection, steps=[Step('first', selection, said),
                                           Step('broken', selection, said, fail=True),
                                           Step('last', selection, said)],
                         on_stopped=lambda result: said.append(('stopped', result.stopped)))
    scene = start_scene(('scene', '--no-node'), env=scene_env(EXPCLEAN_RUN_ID=tag))
    try:
        stages = []
        given = []
        end = end_run(run, timeouts=FAST, progress=lambda stage, result: stages.append(stage),
                      cleanup=lambda what: given.append(what) or {'plan': 'test'})
    finally:
        scene.kill_all()
    assert not any(scene.alive(role) for role in scene.pids), 'the run outlived its end'
    assert decoy.poll() is None, 'the untagged decoy was stopped'
    decoy.kill()
    decoy.wait()
    # the last look while the run lived, then the teardown, then the steps with nothing left
    live = len(scene.pids)  # (a double fork's middle process may still be on its way out)
    assert [name for name, _ in said[:3]] == ['first.observe', 'broken.observe', 'last.observe']
    assert all(count >= live for _, count in said[:3]), said
    assert said[3] == ('stopped', end.teardown.stopped) and end.teardown.stopped >= live
    assert said[4:] == [('first.settle', 0), ('broken.settle', 0), ('last.settle', 0)]
    assert [s.status for s in end.steps] == [OK, FAILED, OK]
    assert 'this step fails' in end.steps[1].detail
    assert stages == ['teardown', 'shm', 'step', 'step', 'step', 'cleanup', 'verify']
    # nothing of the run left: the cleanup settles against the level before it
    assert given[0].run_id == tag and given[0].baseline is run.before
    assert end.cleanup == {'plan': 'test'}
    assert end.verification is not None and end.after is not None
    assert end.shm is not None and end.shm.name == 'run_shm'


def test_dry_run_lists_the_run_and_stops_nothing():
    tag = new_run_id()
    said = []
    run = RunStart.begin(Selection(tag=tag), steps=[Step('step', Selection(tag=tag), said)])
    scene = start_scene(('scene', '--no-node'), env=scene_env(EXPCLEAN_RUN_ID=tag))
    try:
        end = end_run(run, timeouts=FAST, dry_run=True, cleanup=lambda what: 1 / 0)
        assert all(scene.alive(role) for role in scene.pids)
        assert set(scene.pids.values()) <= {o.pid for o in end.teardown.processes}
        assert end.steps == () and end.cleanup is None and end.verification is None
        assert [name for name, _ in said] == ['step.observe']
    finally:
        scene.kill_all()


def test_bad_timeouts_are_refused_before_any_signal():
    tag = new_run_id()
    scene = start_scene(('scene', '--no-node'), env=scene_env(EXPCLEAN_RUN_ID=tag))
    try:
        try:
            end_run(RunStart(Selection(tag=tag)), timeouts=StopTimeouts(1.0, -1.0, 1.0))
        except ValueError as exc:
            assert 'sigterm_timeout_s must be zero or more, got -1.0' in str(exc)
        else:
            raise AssertionError('negative timeout accepted')
        assert all(scene.alive(role) for role in scene.pids)
    finally:
        scene.kill_all()
