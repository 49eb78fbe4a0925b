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
core imports in no circle: neither between its modules nor between its packages.

The graph is read from the source (every ``import`` and ``from ... import``, those inside
functions too), so a lazy import that only hides a circle counts as one.
"""

import ast
import os

import expclean_ros.core


def _module_name(root, top, path):
    rel = os.path.relpath(path, root)[:-3].replace(os.sep, '.')
    rel = rel[:-len('__init__')].rstrip('.') if rel.endswith('__init__') else rel
    return top + ('.' + rel if rel else '')


def _imported(node, package):
    """Return the names an import node may refer to, most specific first."""
    if isinstance(node, ast.Import):
        return [[a.name] for a in node.names]
    if node.level:
        parts = package.split('.')
        base = '.'.join(parts[:len(parts) - node.level + 1])
        module = base + ('.' + node.module if node.module else '')
    else:
        module = node.module or ''
    return [[f'{module}.{a.name}', module] for a in node.names]


def import_graph(root, top):
    """Return {module: the modules of the package at ``root`` (named ``top``) it imports}."""
    paths = {}
    for folder, _, files in os.walk(root):
        for file in files:
            if file.endswith('.py'):
                path = os.path.join(folder, file)
                paths[_module_name(root, top, path)] = path
    graph = {}
    for name, path in paths.items():
        package = name if path.endswith('__init__.py') else name.rpartition('.')[0]
        with open(path) as f:
            tree = ast.parse(f.read(), path)
        found = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for choices in _imported(node, package):
                    found.update(next(([c] for c in choices if c in paths), []))
        graph[name] = found - {name}
    return graph


def package_graph(graph, top):
    """Return the same graph between the packages just below ``top`` (a module: its own)."""
    depth = len(top.split('.'))

    def group(name):
        return '.'.join(name.split('.')[:depth + 1])
    packages = {}
    for name, imported in graph.items():
        packages.setdefault(group(name), set()).update(
            group(m) for m in imported if group(m) != group(name))
    return packages


def find_cycle(graph):
    """Return one circle of ``graph`` as ``[a, b, ..., a]``, or None when it has none."""
    state, path = {}, []

    def visit(node):
        state[node] = 'open'
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 'open':
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        state[node] = 'done'
        path.pop()
        return None
    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


CORE_DIR = os.path.dirname(expclean_ros.core.__file__)
CORE = import_graph(CORE_DIR, 'expclean_ros.core')


def test_the_graph_is_read_from_core():
    assert 'expclean_ros.core.step_result' in CORE['expclean_ros.core.cleanup.plans']
    assert 'expclean_ros.core.units' in CORE['expclean_ros.core.memory.settle']
    assert 'expclean_ros.core.procs.proctable' in CORE['expclean_ros.core.memory.run_shm']


def test_core_modules_import_in_no_circle():
    cycle = find_cycle(CORE)
    assert cycle is None, 'import circle: ' + ' -> '.join(cycle)


def test_core_packages_import_in_no_circle():
    cycle = find_cycle(package_graph(CORE, 'expclean_ros.core'))
    assert cycle is None, 'import circle between packages: ' + ' -> '.join(cycle)


def test_the_check_finds_a_circle_through_a_lazy_and_a_relative_import(tmp_path):
    root = tmp_path / 'pkg'
    for folder in ('a', 'b'):
        (root / folder).mkdir(parents=True)
        (root / folder / '__init__.py').write_text('')
    (root / '__init__.py').write_text('')
    (root / 'a' / 'x.py').write_text('from ..b import y\n')
    (root / 'b' / 'y.py').write_text('def f():\n    from pkg.a.z import g\n')
    (root / 'a' / 'z.py').write_text('import os\n')
    graph = import_graph(str(root), 'pkg')
    assert graph['pkg.a.x'] == {'pkg.b.y'} and graph['pkg.b.y'] == {'pkg.a.z'}
    assert find_cycle(graph) is None  # x -> y -> z: no circle between modules
    assert find_cycle(package_graph(graph, 'pkg')) == ['pkg.a', 'pkg.b', 'pkg.a']
    (root / 'a' / 'z.py').write_text('from . import x\n')
    assert find_cycle(import_graph(str(root), 'pkg')) == ['pkg.a.x', 'pkg.b.y', 'pkg.a.z',
                                                          'pkg.a.x']
