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
One vocabulary of reasons.

What the teardown says (why selected, why left) is what ProcessInfo.msg documents, and what the
node and the CLI pass on.
"""

import os
import re
import subprocess

from helpers.nodes import start_ticks
from helpers.paths import REPO_ROOT
from expclean_ros.core.procs import outcome
from expclean_ros.core.procs.scanner import ROOT_GIVEN
from expclean_ros.core.procs.selection import Selection
from expclean_ros.core.procs.teardown import teardown

MSG = os.path.join(REPO_ROOT, 'expclean_interfaces', 'msg', 'ProcessInfo.msg')

#: The fixed start of each reason the scanner gives (the rest names a pid, tag, path, ...).
SELECTED = ('tagged EXPCLEAN_RUN_ID=', ROOT_GIVEN, 'descendant of ', 'in session of ',
            'in process group of ', 'in cgroup ', 'matches ')


def test_the_message_documents_every_reason_and_every_left_detail():
    text = open(MSG).read()
    for start in SELECTED:
        assert f'"{start}' in text, start
    for detail in (outcome.LEFT_D_STATE, outcome.LEFT_DENIED, outcome.LEFT_RUNNING,
                   outcome.ZOMBIE_NOT_OURS):
        assert f'"{detail}"' in text, detail


def test_a_real_tree_is_described_in_those_words():
    """
    A root with a child and a grandchild, in a session of its own.

    A dry run says why each was chosen, in the documented words only; counts read as a person
    writes them.
    """
    root = subprocess.Popen(['bash', '-c', 'sleep 300 & sleep 301; wait'],
                            start_new_session=True, stdin=subprocess.DEVNULL)
    try:
        selection = Selection(root_pid=root.pid, root_start_ticks=start_ticks(root.pid))
        found = {}
        for _ in range(100):  # bash forks both sleeps at once; look until they are there
            result = teardown(selection, 0.1, 0.1, 0.1, dry_run=True)
            found = {p.pid: p.candidate.reason for p in result.processes}
            if len(found) == 3:
                break
        assert found[root.pid] == ROOT_GIVEN
        others = [r for pid, r in found.items() if pid != root.pid]
        assert len(others) == 2 and all(r.startswith(SELECTED) for r in others), found
        stopped = teardown(selection, 2.0, 2.0, 1.0)
        assert re.match(r'stopped 3 processes \(0 left\)', stopped.summary())
    finally:
        if root.poll() is None:
            root.kill()
        root.wait(10)
    assert outcome.processes(1) == '1 process' and outcome.processes(2) == '2 processes'
