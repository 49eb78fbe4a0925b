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

"""What the ament_lint tests check: the repository's Python, its LICENSE, manifests and XML."""

import glob
import os

from helpers.paths import PACKAGE_ROOT, REPO_ROOT

# Every Python source of the repository: both packages' code and tests, benches, scripts.
PYTHON_DIRS = tuple(os.path.join(REPO_ROOT, d)
                    for d in ('expclean_ros', 'bench', 'scripts', 'examples'))
# The one flake8 configuration (a plain flake8 run and editors read it too).
FLAKE8_CONFIG = os.path.join(REPO_ROOT, '.flake8')
MANIFESTS = tuple(os.path.join(REPO_ROOT, pkg, 'package.xml')
                  for pkg in ('expclean_ros', 'expclean_interfaces'))
# The shipped XML besides the manifests: launch files and the node's Fast DDS profile.
XML_FILES = tuple(sorted(glob.glob(os.path.join(PACKAGE_ROOT, 'launch', '*.xml')))) + (
    os.path.join(PACKAGE_ROOT, 'expclean_ros', 'ros', 'fastdds_node.xml'),)
