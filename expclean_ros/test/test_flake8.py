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

"""ament_flake8 over the repository, configured by ``.flake8`` (99 columns, as ROS 2 code)."""

from ament_flake8.main import main_with_errors
from helpers.paths import REPO_ROOT
from helpers.lint_targets import FLAKE8_CONFIG, PYTHON_DIRS
import pytest


@pytest.mark.flake8
@pytest.mark.linter
def test_flake8(monkeypatch):
    # .flake8's per-file-ignores name paths from the repository's root
    monkeypatch.chdir(REPO_ROOT)
    rc, errors = main_with_errors(argv=['--config', FLAKE8_CONFIG, *PYTHON_DIRS])
    assert rc == 0, \
        'Found %d code style errors / warnings:\n' % len(errors) + '\n'.join(errors)
