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

"""Verified means verified: memory above its level before the run is named, with who holds it."""

import os

from expclean_ros.core.cleanup.verify import verify
from expclean_ros.core.memory.probes import take_snapshot
from expclean_ros.core.memory.shm_record import ShmRecord
from expclean_ros.core.units import MIB

from helpers.shmscene import Proc, token, write


def test_a_file_a_decoy_holds_keeps_the_machine_not_back(tmp_path, made):
    paths, procs = made
    root = str(tmp_path)
    record = ShmRecord.take(root)
    held = write(f'{root}/psm_{token()}', 48 * MIB)
    loose = [write(f'{root}/torch_1_{i}_0', 4 * MIB) for i in range(3)]
    paths += [held, *loose]
    holder = Proc(held, 'open')
    procs.append(holder)
    result = verify(record=record, tolerance_bytes=32 * MIB, since='at the previous cleanup')
    assert not result.clean and result.shm_excess_bytes >= 60 * MIB
    assert result.excess == (('/dev/shm', result.shm_excess_bytes),)
    assert result.line.startswith('not back: /dev/shm +')
    assert 'above the level at the previous cleanup' in result.line
    assert f'in 1 psm_* file held by pid {holder.pid} (' in result.line
    assert 'in 3 torch_* files held by nobody' in result.line
    assert result.contributors[0].startswith('/dev/shm +48.0 MiB in 1 psm_* file')


def test_within_the_tolerance_is_back(tmp_path, made):
    paths, _ = made
    root = str(tmp_path)
    before = take_snapshot()
    record = ShmRecord.take(root)
    paths.append(write(f'{root}/psm_{token()}', MIB))
    result = verify(before, before, record, tolerance_bytes=32 * MIB)
    assert result.clean and result.excess_bytes == 0 and result.shm_excess_bytes == MIB
    assert result.line == 'back at the level before the run'
    assert os.path.exists(paths[0])  # verifying changes nothing
