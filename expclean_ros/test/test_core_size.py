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

"""Small pieces: no module of the package over 300 lines, no function of core/procs over 60."""

import ast
import os

import expclean_ros.core

CORE_DIR = os.path.dirname(expclean_ros.core.__file__)
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60


def modules(top):
    """Yield (path relative to ``top``, source) of every Python module under ``top``."""
    for root, _, files in os.walk(top):
        for name in sorted(files):
            if name.endswith('.py'):
                path = os.path.join(root, name)
                with open(path, encoding='utf-8') as f:
                    yield os.path.relpath(path, top), f.read()


def long_functions(source, limit):
    """Return (name, first line, lines) of every function or method over ``limit`` lines."""
    return [(node.name, node.lineno, node.end_lineno - node.lineno + 1)
            for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > limit]


def test_no_module_over_300_lines():
    top = os.path.dirname(CORE_DIR)  # the whole package: core, ros, cli, launch_actions
    sizes = {rel: len(source.splitlines()) for rel, source in modules(top)}
    assert len(sizes) > 80 and 'core/procs/teardown.py' in sizes  # the walk found the package
    over = {rel: n for rel, n in sizes.items() if n > MAX_MODULE_LINES}
    assert over == {}


def test_no_procs_function_over_60_lines():
    found = {rel: long_functions(source, MAX_FUNCTION_LINES)
             for rel, source in modules(os.path.join(CORE_DIR, 'procs'))}
    assert 'teardown.py' in found and 'teardown_stages.py' in found
    assert {rel: f for rel, f in found.items() if f} == {}


def test_long_functions_are_found():
    source = 'def f():\n' + '    x = 1\n' * 60 + '\n\nclass C:\n    def m(self):\n        pass\n'
    assert long_functions(source, MAX_FUNCTION_LINES) == [('f', 1, 61)]
    assert long_functions(source, 61) == []
