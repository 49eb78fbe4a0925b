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
The examples in docstrings run: every module of expclean_ros with a ``>>>`` example.

A module that needs what is not installed here (rclpy, launch) is skipped with the reason.
"""

import doctest
import importlib
import os

import pytest

import expclean_ros

PACKAGE_DIR = os.path.dirname(expclean_ros.__file__)
#: What a module may need that a machine without ROS 2 (or without launch) lacks.
OPTIONAL = ('rclpy', 'rcl_interfaces', 'launch', 'launch_ros', 'expclean_interfaces',
            'std_srvs', 'std_msgs', 'diagnostic_msgs', 'ros2cli')


def _modules_with_examples():
    found = []
    for folder, _, files in os.walk(PACKAGE_DIR):
        for file in sorted(f for f in files if f.endswith('.py')):
            path = os.path.join(folder, file)
            with open(path) as f:
                if '>>>' not in f.read():
                    continue
            rel = os.path.relpath(path, os.path.dirname(PACKAGE_DIR))[:-3].replace(os.sep, '.')
            found.append(rel[:-len('.__init__')] if rel.endswith('.__init__') else rel)
    return sorted(found)


MODULES = _modules_with_examples()


def test_the_modules_with_examples_are_found():
    for name in ('core.units', 'core.step_result', 'core.runs.run_tag', 'core.procs.patterns',
                 'ros.parameters', 'cli.names'):
        assert f'expclean_ros.{name}' in MODULES


def _import(name):
    """Import ``name``; skip with the reason when it needs a package not installed here."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        missing = (exc.name or '').split('.')[0]
        if missing in OPTIONAL or 'launch/launch_ros not installed' in str(exc):
            pytest.skip(f'{name} needs {missing or "launch"}, not installed here: {exc}')
        raise


@pytest.mark.parametrize('name', MODULES)
def test_docstring_examples_run(name):
    module = _import(name)
    runner = doctest.DocTestRunner()
    said = []
    for test in doctest.DocTestFinder().find(module):
        runner.run(test, out=said.append)
    failed, attempted = runner.summarize(verbose=False)
    assert attempted > 0, f'{name} holds ">>>" but no example doctest finds'
    assert failed == 0, ''.join(said)
