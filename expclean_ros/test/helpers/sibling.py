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

"""A teardown run by another process: a sibling of what the test started."""

import json
import subprocess
import sys

from helpers import proctree


def teardown_from_sibling(selection: dict, dry_run=False, timeouts=(1.0, 1.0, 1.0)) -> dict:
    """
    Run a teardown in another process; return its TeardownResult as a dict.

    That process is a sibling of what we started: our children are never chosen by pattern when
    we are the caller.
    """
    code = ('import json, sys\n'
            'from expclean_ros.core.procs.selection import Selection\n'
            'from expclean_ros.core.procs.teardown import teardown\n'
            'a = json.loads(sys.argv[1])\n'
            'r = teardown(Selection(**a["sel"]), *a["t"], dry_run=a["dry"])\n'
            'print(json.dumps(r.as_dict()))\n')
    arg = json.dumps({'sel': selection, 't': list(timeouts), 'dry': dry_run})
    done = subprocess.run([sys.executable, '-c', code, arg], env=proctree.scene_env(),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
