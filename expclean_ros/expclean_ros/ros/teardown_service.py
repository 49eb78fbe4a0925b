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
The node's ``~/teardown`` service: the end of a run (core/runs/end_of_run.py) for a peer's request.

The request chooses what is stopped (a run tag, a root pid, patterns, all checked
against the node's policy); the node adds what it knows of this machine: the
Fast DDS segments of processes that needed SIGKILL, the ``/dev/shm`` files of
creators provably gone and a ROS 2 daemon still listing ghosts, the last two
only once something was stopped. A node has no record from before the run, so
nothing is verified against one here; ``~/between_runs`` does that.
"""

from expclean_ros.core.step_result import run_step
from expclean_ros.core.memory import dds_shm, run_shm
from expclean_ros.core.runs.end_of_run import RunStart, end_run
from expclean_ros.ros import messages

__all__ = ['serve_teardown']


class _IfStopped:
    """An end step that runs only when the teardown stopped something (else: None)."""

    def __init__(self, name, settle, stopped):
        self.name, self._settle, self._stopped = name, settle, stopped

    def settle(self):
        return self._settle() if self._stopped and self._stopped[0] else None


def _steps(values, stopped):
    """Return the node's end steps for one teardown: /dev/shm by creator, then the daemon."""
    steps = []
    if values['shm_cleanup']:
        steps.append(_IfStopped(run_shm.STEP_NAME, lambda: run_step(
            run_shm.STEP_NAME, run_shm.clean_run_shm), stopped))
    if values['restart_daemon']:
        from expclean_ros.ros.ghosts import GhostWatch
        daemon = GhostWatch()  # the daemon's node list now
        steps.append(_IfStopped(daemon.name, daemon.settle, stopped))
    return steps


def serve_teardown(values, busy, request, response, log):
    """
    Answer one ``~/teardown`` request under the busy guard; never raises.

    :param values: the node's parameter values; :param busy: its BusyGuard.
    """
    try:
        selection = messages.selection(request, values)
    except ValueError as exc:
        response.success, response.message = False, f'refused: {exc}'
        return response
    timeouts = messages.timeouts(request, values)
    dry_run = request.dry_run or values['dry_run']
    said = busy.try_begin('teardown')
    if said:
        response.success, response.message = False, said
        return response
    dds = []
    after_sigkill = (lambda n: dds.append(dds_shm.clean_stale_segments())
                     if values['dds_shm_cleanup'] else None)
    stopped = []
    try:
        steps = [] if dry_run else _steps(values, stopped)
        run = RunStart(selection, steps=steps, on_stopped=lambda r: stopped.append(r.stopped))
        end = end_run(run, timeouts=timeouts, dry_run=dry_run, after_sigkill=after_sigkill)
    except ValueError as exc:
        response.success, response.message = False, f'refused: {exc}'
        return response
    except Exception as exc:  # a callback never raises
        response.success, response.message = False, f'teardown failed: {exc}'
        return response
    finally:
        busy.end()
    done = dds + list(end.step_results)
    messages.fill_teardown(response, end.teardown, ''.join(f', {r.name} {r.detail}'
                                                           for r in done))
    log(response.message)
    return response
