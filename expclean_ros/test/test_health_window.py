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

"""The diagnostics smoothing window (core, no ROS)."""

from dataclasses import replace

from expclean_ros.ros import diagnostics as health
from expclean_ros.core.memory.gpu import GpuInfo
from expclean_ros.core.memory.probes import take_snapshot
from expclean_ros.core.units import GIB


def test_window_judges_the_mean_of_the_last_readings():
    base = take_snapshot(include_dds_shm=False)
    gpu = GpuInfo(index=0, name='test', uuid='', used_bytes=0, total_bytes=10 * GIB)
    base = replace(base, ram_total_bytes=10 * GIB, ram_used_bytes=1 * GIB, gpus=(gpu,))
    spike = replace(base, ram_used_bytes=10 * GIB,
                    gpus=(replace(gpu, used_bytes=10 * GIB),))
    window = health.Window(4)
    for _ in range(3):
        window.add(base)
    smoothed = window.add(spike)  # one spike among four readings: mean 3.25 GiB
    assert smoothed.ram_used_bytes == int(3.25 * GIB)
    assert smoothed.gpus[0].used_bytes == int(2.5 * GIB)
    levels = {h.name: h.level for h in health.assess(smoothed, {
        'ram_warn_percent': 90.0, 'ram_error_percent': 98.0, 'swap_warn_percent': 50.0,
        'swap_error_percent': 90.0, 'gpu_warn_percent': 95.0, 'gpu_error_percent': 99.0})}
    assert levels['RAM'] == health.OK and levels['GPU0 (test)'] == health.OK
    window.resize(1)
    assert window.add(spike).ram_used_bytes == 10 * GIB
