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
expclean core: plain Python, no rclpy or launch.

Grouped by what flows through it: ``procs`` (which processes, and stopping
them), ``memory`` (probes, GPUs, settling, DDS shared memory), ``cleanup``
(steps and plans, each step a :class:`~.step_result.StepResult`), ``runs``
(run tags, tagged starts, the sequencer and its ledger), ``report`` (a batch
report from ledgers: figures and verdicts) and ``doctor``. Below them, importing
nothing of ours: ``step_result`` (the result of every step) and ``units`` (bytes and
durations as written). No module or package here imports another in a circle (a test
checks). Nothing here prints.
"""
