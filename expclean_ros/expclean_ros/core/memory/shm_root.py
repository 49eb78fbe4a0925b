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
Where shared memory lives: the one place that decides it.

Two roots, on purpose:

- :func:`shm_root`: the directory whose files the run steps record, judge and remove
  (:mod:`.shm_record`, :mod:`.run_shm`, :mod:`.shm_holders`, the verification).
  ``$EXPCLEAN_SHM_ROOT`` moves it (containers that mount shared memory elsewhere, and the
  tests, which point it at a private directory so they never judge other programs' files).
- :data:`DDS_SHM_ROOT`: where Fast DDS puts its segments and locks. Fast DDS opens them
  with ``shm_open(3)``, which on Linux always means ``/dev/shm``, whatever
  ``$EXPCLEAN_SHM_ROOT`` says; measuring or cleaning them elsewhere would find nothing
  (:mod:`.dds_shm`, the memory probe, the doctor).

>>> DDS_SHM_ROOT
'/dev/shm'
>>> shm_root() == (os.environ.get('EXPCLEAN_SHM_ROOT') or '/dev/shm')
True
"""

import os

__all__ = ['SYSTEM_SHM_ROOT', 'DDS_SHM_ROOT', 'ROOT_VARIABLE', 'shm_root']

#: The system's shared memory (POSIX ``shm_open``, glibc's ``SHM_DIR``).
SYSTEM_SHM_ROOT = '/dev/shm'
#: Fast DDS segments: ``shm_open`` ignores ``$EXPCLEAN_SHM_ROOT``, so this does too.
DDS_SHM_ROOT = SYSTEM_SHM_ROOT
#: Where shared memory lives instead, set in the environment at start-up (containers, tests).
ROOT_VARIABLE = 'EXPCLEAN_SHM_ROOT'


def shm_root() -> str:
    """``$EXPCLEAN_SHM_ROOT`` when set (read at each call), else ``/dev/shm``."""
    return os.environ.get(ROOT_VARIABLE) or SYSTEM_SHM_ROOT
