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
pytest hooks that let one run take up exactly the tests another run skipped.

``EXPCLEAN_SKIPPED_LOG=FILE``: every test (or module) skipped is appended to FILE
by its node id. ``EXPCLEAN_TEST_ONLY=FILE``: only the tests of FILE's node ids
(a module's id takes all of its tests) are run; the rest are deselected.
.ci/run uses them so that the leg with upstream launch and ros2cli runs what a
user's clone, without them, had to skip, and not the whole suite twice.
"""

import os


def _log(report):
    path = os.environ.get('EXPCLEAN_SKIPPED_LOG')
    if path and report.skipped and 'PYTEST_XDIST_WORKER' not in os.environ:
        with open(path, 'a') as f:
            f.write(report.nodeid + '\n')


def pytest_runtest_logreport(report):
    _log(report)  # skipped at set-up (a mark) or in the test itself (pytest.skip)


def pytest_collectreport(report):
    _log(report)


def pytest_collection_modifyitems(config, items):
    path = os.environ.get('EXPCLEAN_TEST_ONLY')
    if not path:
        return
    with open(path) as f:
        wanted = {line.strip() for line in f if line.strip()}
    keep, drop = [], []
    for item in items:
        (keep if item.nodeid in wanted or item.nodeid.split('::')[0] in wanted
         else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
