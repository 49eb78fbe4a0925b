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
The docs' code runs as pasted: every fenced Python block of README.md and docs/*.md.

Each runs in a fresh interpreter against a real cleanup node at ``/cleanup``; every fenced shell
block parses (``bash -n``). A block that is part of something larger is marked, on the line
before its fence, ``<!-- fragment: why -->``, and is left out.
"""

import os
import re
import subprocess
import sys

import pytest

from helpers.nodes import ros_env, wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FENCE = re.compile(r'^```(\w*)\s*$')
MARK = '<!-- fragment:'


def documents():
    docs = os.path.join(ROOT, 'docs')
    return [os.path.join(ROOT, 'README.md')] + sorted(
        os.path.join(docs, name) for name in os.listdir(docs) if name.endswith('.md'))


def blocks(languages):
    """Return ``[(where, code, fragment)]`` for the fenced blocks in one of ``languages``."""
    found = []
    for path in documents():
        with open(path, encoding='utf-8') as f:
            lines = f.read().splitlines()
        start = language = None
        for number, line in enumerate(lines):
            match = FENCE.match(line)
            if not match:
                continue
            if start is None:
                start, language = number, match.group(1)
            else:
                if language in languages:
                    before = lines[start - 1].strip() if start else ''
                    found.append((f'{os.path.relpath(path, ROOT)}:{start + 1}',
                                  '\n'.join(lines[start + 1:number]) + '\n',
                                  before.startswith(MARK)))
                start = None
    return found


PYTHON = blocks(('python', 'py'))
SHELL = blocks(('bash', 'sh', 'shell'))


def test_the_docs_have_blocks_to_run_and_fragments_say_why():
    assert len([b for b in PYTHON if not b[2]]) >= 4, PYTHON
    assert SHELL
    for path in documents():
        with open(path, encoding='utf-8') as f:
            for line in f:
                if line.startswith(MARK):
                    assert len(line.strip()) > len(MARK) + 10, f'{path}: {line}'


@pytest.mark.parametrize('where,code', [(w, c) for w, c, fragment in PYTHON if not fragment],
                         ids=[w for w, _, fragment in PYTHON if not fragment])
def test_a_python_block_runs_as_pasted(where, code, start_node, tmp_path):
    pytest.importorskip('rclpy', reason='rclpy (ROS 2 wheels) not installed')
    node = start_node()
    assert wait_for(lambda: 'ready' in node.log(), 60), node.log()
    done = subprocess.run([sys.executable, '-c', code], env=ros_env(), cwd=tmp_path,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, f'{where}:\n{code}\n{done.stdout[-2000:]}{done.stderr[-3000:]}'


@pytest.mark.parametrize('where,code', [(w, c) for w, c, fragment in SHELL if not fragment],
                         ids=[w for w, _, fragment in SHELL if not fragment])
def test_a_shell_block_parses(where, code):
    done = subprocess.run(['bash', '-n'], input=code, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, f'{where}:\n{code}\n{done.stderr}'
