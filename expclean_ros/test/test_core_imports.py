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
Layering.

core never imports rclpy or launch (checked in a fresh interpreter), and nothing imports a private
(underscore) name from another module of the package.
"""

import ast
import json
import os
import pkgutil
import subprocess
import sys

import pytest

import expclean_ros
import expclean_ros.core
from helpers import rosproc

PACKAGE_DIR = os.path.dirname(expclean_ros.__file__)
CORE_MODULES = sorted(m.name for m in pkgutil.walk_packages(expclean_ros.core.__path__,
                                                            'expclean_ros.core.'))


def test_core_modules_listed():
    for name in ('procs.teardown', 'procs.selection', 'memory.probes', 'memory.settle',
                 'cleanup.steps', 'cleanup.plans', 'step_result', 'runs.sequencer',
                 'doctor.diagnose'):
        assert f'expclean_ros.core.{name}' in CORE_MODULES
    for package in ('procs', 'memory', 'cleanup', 'runs', 'doctor', 'report'):
        assert f'expclean_ros.core.{package}' in CORE_MODULES


def _fresh_python(code):
    """Run ``code`` in a fresh interpreter; its stdout (it must exit 0)."""
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ), stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _imported_after(modules):
    code = ('import importlib, json, sys\n'
            f'for name in {modules!r}:\n'
            '    importlib.import_module(name)\n'
            'print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in '
            '("rclpy", "rcl_interfaces", "launch", "launch_ros", "torch", "matplotlib"))))\n')
    return json.loads(_fresh_python(code).strip().splitlines()[-1])


def test_importing_core_and_cleanup_utils_does_not_import_rclpy_or_launch():
    assert _imported_after(CORE_MODULES + ['expclean_ros.cleanup_utils']) == []


def test_public_import_paths_work_and_the_removed_shims_are_gone():
    code = ('import importlib\n'
            'from expclean_ros.cleanup_utils import cleanup_between_runs\n'
            'from expclean_ros.ros.client import CleanupClient, ClientError\n'
            'for gone in ("expclean_ros.client", "expclean_ros.launch_helpers"):\n'
            '    try:\n'
            '        importlib.import_module(gone)\n'
            '    except ModuleNotFoundError:\n'
            '        continue\n'
            '    raise SystemExit(gone + " still imports")\n'
            'print("imported")\n')
    assert _fresh_python(code).strip() == 'imported'


@pytest.mark.launch
@pytest.mark.skipif(bool(rosproc.launch_missing_reason()), reason=rosproc.launch_missing_reason())
def test_launch_actions_import_path_works():
    code = ('import expclean_ros.launch_actions as actions\n'
            'from expclean_ros.launch_actions import CleanupCall, RunTag, Teardown\n'
            'from expclean_ros.launch_actions import CleanupNodeAction, Experiment\n'
            'assert not hasattr(actions, "CleanupNode")  # the old alias is gone (0.2.0)\n'
            'print("imported")\n')
    assert _fresh_python(code).strip() == 'imported'


@pytest.mark.skipif(not rosproc.launch_missing_reason(), reason='launch is installed here')
def test_launch_actions_without_launch_say_what_to_install():
    code = ('try:\n'
            '    import expclean_ros.launch_actions\n'
            'except ImportError as exc:\n'
            '    print(exc)\n')
    said = _fresh_python(code)
    assert 'launch/launch_ros not installed' in said and 'install ROS 2' in said, said


def _module_name(root, path):
    rel = os.path.relpath(path, os.path.dirname(root))[:-3].replace(os.sep, '.')
    return rel[:-len('.__init__')] if rel.endswith('.__init__') else rel


def _private_imports(root):
    """
    Return (importer, module, name) for each ``from module import _name`` in a package.

    The package is the one at ``root``, where module is another module of that package.
    """
    top = os.path.basename(root)
    found = []
    for folder, _, files in os.walk(root):
        for file in sorted(f for f in files if f.endswith('.py')):
            path = os.path.join(folder, file)
            importer = _module_name(root, path)
            package = importer if file == '__init__.py' else importer.rpartition('.')[0]
            with open(path) as f:
                tree = ast.parse(f.read(), path)
            for node in ast.walk(tree):
                if not isinstance(node, ast.ImportFrom):
                    continue
                if node.level:
                    parts = package.split('.')
                    base = parts[:len(parts) - node.level + 1]
                    module = '.'.join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ''
                if module.split('.')[0] == top and module != importer:
                    found += [(importer, module, a.name) for a in node.names
                              if a.name.startswith('_')]
    return found


def test_no_private_name_is_imported_from_another_module():
    assert _private_imports(PACKAGE_DIR) == []


def test_the_private_import_check_finds_relative_and_absolute_imports(tmp_path):
    package = tmp_path / 'pkg'
    (package / 'sub').mkdir(parents=True)
    (package / '__init__.py').write_text('')
    (package / 'sub' / '__init__.py').write_text('from .. import b\n')
    (package / 'b.py').write_text('_x = _y = 1\nfrom .b import _x\n')
    (package / 'sub' / 'c.py').write_text('def f():\n    from ..b import _x\n'
                                          'from pkg.b import _y, public\n')
    assert sorted(_private_imports(str(package))) == [('pkg.sub.c', 'pkg.b', '_x'),
                                                      ('pkg.sub.c', 'pkg.b', '_y')]


def _package_imports(root):
    """{core subpackage: the other core subpackages its modules import}, read from the source."""
    core = os.path.join(root, 'core')
    found = {}
    for folder, _, files in os.walk(core):
        rel = os.path.relpath(folder, core)
        if rel == '.':
            continue
        package = rel.split(os.sep)[0]
        for file in (f for f in files if f.endswith('.py')):
            with open(os.path.join(folder, file)) as f:
                tree = ast.parse(f.read())
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.level == 2 and node.module:
                    found.setdefault(package, set()).add(node.module.split('.')[0])
                elif isinstance(node, ast.ImportFrom) and (node.module or '').startswith(
                        'expclean_ros.core.'):
                    found.setdefault(package, set()).add(node.module.split('.')[2])
    return {package: imported - {package} for package, imported in found.items()}


def test_procs_does_not_import_runs():
    """The runs package builds on procs (tagged starts, teardown of a tag), never the reverse."""
    imports = _package_imports(PACKAGE_DIR)
    assert 'procs' in imports.get('runs', set())
    assert 'runs' not in imports.get('procs', set()), imports['procs']
