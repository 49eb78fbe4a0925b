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
End to end.

An rclpy pipeline under real ros2 launch, ended by Ctrl-C, with and without the wrapper. Plain
launch leaves the double-forked helper behind; the wrapper leaves nothing.
"""

import pytest

from helpers import rosproc

pytestmark = [pytest.mark.launch,
              pytest.mark.skipif(bool(rosproc.missing_reason()), reason=rosproc.missing_reason())]


def test_plain_launch_leaves_the_orphan_the_wrapper_leaves_nothing(tmp_path):
    mark = rosproc.new_mark()  # every process of these runs, leftovers included, carries it
    try:
        for i in range(2):
            plain = rosproc.e2e_run('plain', mark, tmp_path / f'plain{i}.log')
            assert plain['exit'] == 0, plain['text'][-3000:]
            assert 'pipeline.py helper' in plain['left_names'], plain['left_names']
            assert plain['left'] == i + 1  # one more orphan per run: it accumulates
        rosproc.stop_marked(mark)
        assert not rosproc.marked(mark)
        for i in range(2):
            wrapped = rosproc.e2e_run('wrap', mark, tmp_path / f'wrap{i}.log')
            assert wrapped['exit'] == 0, wrapped['text'][-3000:]
            assert wrapped['left'] == 0, wrapped['left_names']
            assert 'stopped 3 processes (0 left)' in wrapped['text'], wrapped['text'][-3000:]
    finally:
        rosproc.stop_marked(mark)
