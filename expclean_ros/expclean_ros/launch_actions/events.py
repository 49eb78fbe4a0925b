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

"""Events the expclean launch actions emit when their work is done."""

from typing import Optional

from launch.event import Event

__all__ = ['TeardownDone', 'CleanupDone']


class TeardownDone(Event):
    """
    A :class:`~expclean_ros.launch_actions.Teardown` has finished.

    :param run_id: the run tag it stopped.
    :param result: the :class:`~expclean_ros.core.procs.outcome.TeardownResult`.
    :param cleanup: the :class:`CleanupDone` of the cleanup call that followed, if any.
    :param shm: the ``run_shm`` StepResult: what the run left in ``/dev/shm``, removed.
    :param verification: whether memory is back at its level before the run.
    """

    name = 'expclean_ros.events.TeardownDone'

    def __init__(self, *, run_id: str, result, cleanup: Optional['CleanupDone'] = None,
                 shm=None, verification=None):
        super().__init__()
        self.run_id = run_id
        self.result = result
        self.cleanup = cleanup
        self.shm = shm
        self.verification = verification


class CleanupDone(Event):
    """A cleanup call has answered (or failed): ``success`` and the node's ``message``."""

    name = 'expclean_ros.events.CleanupDone'

    def __init__(self, *, node: str, plan: str, success: bool, message: str):
        super().__init__()
        self.node = node
        self.plan = plan
        self.success = success
        self.message = message
