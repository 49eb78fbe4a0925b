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

"""Mount table reading (``/proc/self/mountinfo``): which mount holds a path, cgroup2's mount."""

import os
from typing import List, Optional

__all__ = ['mounts', 'mount_of']


def mounts(mountinfo: str = '/proc/self/mountinfo') -> List[dict]:
    """Every mount: ``{'point', 'options', 'fstype', 'super'}``; empty when unreadable."""
    try:
        with open(mountinfo) as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        left, _, right = line.partition(' - ')
        fields, tail = left.split(), right.split()
        if len(fields) < 6 or len(tail) < 3:
            continue
        out.append({'point': fields[4].encode().decode('unicode_escape'),  # \040 -> space
                    'options': fields[5].split(','), 'fstype': tail[0],
                    'super': tail[2].split(',')})
    return out


def mount_of(path: str, mountinfo: str = '/proc/self/mountinfo') -> Optional[dict]:
    """Return the mount holding ``path`` (the longest mount point above it), or None."""
    path = os.path.realpath(path)
    best = None
    for mount in mounts(mountinfo):
        point = mount['point']
        inside = path == point or path.startswith(point.rstrip('/') + '/')
        if inside and (best is None or len(point) >= len(best['point'])):
            best = mount
    return best
