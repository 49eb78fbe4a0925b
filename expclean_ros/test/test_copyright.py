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

"""ament_copyright: an Apache-2.0 header in every source file, and the LICENSE at the root."""

import os

from helpers.paths import REPO_ROOT
from helpers.lint_targets import PYTHON_DIRS
import pytest
from helpers import rosproc

pytestmark = [
    pytest.mark.skipif(not rosproc.installed('ament_copyright'),
                       reason=rosproc.not_installed('ament_copyright')),
    pytest.mark.copyright,
    pytest.mark.linter,
]


def _copyright(argv):
    from ament_copyright.main import main
    return main(argv=argv)


def test_copyright():
    # the root's LICENSE by name (a directory argument at the root would also ask for a
    # CONTRIBUTING.md), then every source below it
    rc = _copyright([os.path.join(REPO_ROOT, 'LICENSE'), *PYTHON_DIRS,
                     os.path.join(REPO_ROOT, 'expclean_interfaces')])
    assert rc == 0, 'Found errors'


def test_the_check_catches_a_missing_header(tmp_path):
    """Guard against a check that passes everything: a file without a header fails."""
    (tmp_path / 'bare.py').write_text('import os\n')
    assert _copyright([str(tmp_path)]) != 0
