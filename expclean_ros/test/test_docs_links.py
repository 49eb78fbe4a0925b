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
Every relative link in README.md and docs/*.md reaches a file that exists.

And its #anchor a heading of that file (GitHub's heading ids).
"""

import glob
import os
import re
import sys

from helpers.paths import REPO_ROOT

LINK = re.compile(r'!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)')


def markdown_files():
    return [os.path.join(REPO_ROOT, 'README.md')] + sorted(
        glob.glob(os.path.join(REPO_ROOT, 'docs', '*.md')))


def prose_lines(text):
    """Return the file's lines outside fenced code blocks, inline code removed."""
    fenced = False
    for line in text.split('\n'):
        if line.lstrip().startswith('```'):
            fenced = not fenced
            continue
        if not fenced:
            yield re.sub(r'`[^`]*`', '', line)


def slug(heading):
    """Return the id GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r'[`*_]|<[^>]*>', '', heading.strip()).lower()
    text = re.sub(r'[^\w\- ]', '', text)
    return text.replace(' ', '-')


def anchors(path):
    with open(path) as f:
        text = f.read()
    seen, ids = {}, set()
    fenced = False
    for line in text.split('\n'):
        if line.lstrip().startswith('```'):
            fenced = not fenced
        elif not fenced and re.match(r'#{1,6} ', line):
            base = slug(line.lstrip('#'))
            n = seen.get(base, 0)
            seen[base] = n + 1
            ids.add(base if n == 0 else f'{base}-{n}')
    return ids


def links(path):
    with open(path) as f:
        for line in prose_lines(f.read()):
            for target in LINK.findall(line):
                if not re.match(r'[a-z][a-z0-9+.-]*:', target):
                    yield target


def broken_links():
    broken = []
    for md in markdown_files():
        for target in links(md):
            name, _, anchor = target.partition('#')
            dest = os.path.normpath(os.path.join(os.path.dirname(md), name)) if name else md
            where = os.path.relpath(md, REPO_ROOT)
            if not os.path.exists(dest):
                broken.append(f'{where}: {target} (no such file)')
            elif anchor and dest.endswith('.md') and anchor not in anchors(dest):
                broken.append(f'{where}: {target} (no such heading)')
    return broken


def test_relative_links_and_anchors_resolve():
    assert markdown_files()[1:], 'no docs/*.md found'
    assert broken_links() == []


def test_the_check_finds_a_broken_link_and_anchor(tmp_path, monkeypatch):
    """Guard against a check that passes everything."""
    (tmp_path / 'docs').mkdir()
    (tmp_path / 'README.md').write_text(
        '# Top\n\n## A `b`: c (d)\n\n[ok](#a-b-c-d) [ok](docs/x.md#x) [bad](#nothing)\n'
        '[bad](docs/missing.md) `[code](nowhere.md)` [web](https://example.org/x)\n'
        '```\n[fenced](nowhere.md)\n```\n')
    (tmp_path / 'docs' / 'x.md').write_text('# X\n\n[up](../README.md#top)\n')
    monkeypatch.setattr(sys.modules[__name__], 'REPO_ROOT', str(tmp_path))
    assert broken_links() == ['README.md: #nothing (no such heading)',
                              'README.md: docs/missing.md (no such file)']
