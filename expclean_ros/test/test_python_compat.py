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

"""The code must run on ROS 2 Humble (Python 3.10): nothing newer, checked by vermin."""

import os
import subprocess
import sys

from helpers.paths import REPO_ROOT


def test_nothing_newer_than_python_3_10():
    targets = [os.path.join(REPO_ROOT, d) for d in ('expclean_ros', 'bench', 'scripts')]
    targets = [t for t in targets if os.path.isdir(t)]
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), 'vermin'), '--no-tips', '--violations',
         '--eval-annotations', '-t=3.10-', *targets],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'Minimum required versions' in proc.stdout, proc.stdout


def test_the_check_catches_a_newer_api(tmp_path):
    """Guard against a vermin that passes everything: a 3.11-only module must fail."""
    (tmp_path / 'new.py').write_text('import tomllib\n')
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), 'vermin'), '--no-tips', '--violations',
         '-t=3.10-', str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0, proc.stdout
