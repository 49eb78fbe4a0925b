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

"""The report page as HTML: one row per run, the verdicts, self-contained, small at scale."""

import html
import json
import re

import pytest

from helpers.report_page import Page
from helpers.report_ledgers import MIB, expclean, generated_ledger, real_batch


def external_references(page_text):
    """Return what in a page could make a browser fetch something: not an in-page anchor."""
    page = Page(page_text)
    found = [u for u in page.urls if not u.startswith('#')]
    found += [t for t in page.tags if t in ('link', 'iframe', 'object', 'embed', 'base')]
    found += re.findall(r'url\(|@import|https?://|(?<![:\w])//[\w.-]+\.\w', page_text)
    return found


def render(ledgers, page, *extra):
    done = expclean('report', *ledgers, '-o', str(page), *extra)
    assert done.returncode == 0, done.stderr
    return page.read_text(encoding='utf-8')


@pytest.fixture(scope='module')
def batch(tmp_path_factory):
    return real_batch(tmp_path_factory.mktemp('batch'))


def test_one_row_per_run_and_the_verdicts(batch, tmp_path):
    text = render([batch], tmp_path / 'r.html')
    page = Page(text)
    assert page.rows == ['r1', 'r2', 'r3']
    verdicts = json.loads(expclean('report', batch, '--json').stdout)['verdicts']
    body = ' '.join(page.text)
    for v in verdicts:
        assert v['text'] in body
    assert page.tags.count('svg') == 4  # RAM, /dev/shm, times, processes by stage
    assert external_references(text) == []


def test_the_check_finds_an_external_reference():
    assert external_references('<img src="https://cdn.example/x.png">')
    assert external_references('<script src="//cdn.example/a.js"></script>')
    assert external_references('<link rel=stylesheet href="a.css">')
    assert external_references('<style>body{background:url(x.png)}</style>')
    assert external_references('<a href="#r1">1</a><p>a // b</p>') == []


def test_a_field_the_ledger_lacks_shows_as_a_dash(tmp_path):
    path = tmp_path / 'l.jsonl'
    generated_ledger(path, 3)
    lines = path.read_text().splitlines()
    r = json.loads(lines[2])
    del r['memory']['peak']
    lines[2] = json.dumps(r)
    path.write_text('\n'.join(lines) + '\n')
    text = render([str(path)], tmp_path / 'r.html')
    row = re.search(r'<tr id="r1"[^>]*>(.*?)</tr>', text).group(1)
    cells = [html.unescape(re.sub('<[^>]+>', '', c)) for c in row.split('</td>')]
    assert '\u2014' in cells
    assert 'not in the ledger: memory.peak (run 1); shown as \u2014' in ''.join(Page(text).text)


def test_thousand_runs_make_a_page_under_2_mb(tmp_path):
    ledger = generated_ledger(tmp_path / 'big.jsonl', 1000, drift_per_run=2 * MIB, gpu=True)
    text = render([ledger], tmp_path / 'big.html')
    size = len(text.encode('utf-8'))
    assert size < 2 * 1024 * 1024, size
    assert len(Page(text).rows) == 1000
    assert external_references(text) == []


def test_merged_ledgers_label_every_row(batch, tmp_path):
    other = generated_ledger(tmp_path / 'machine-b.jsonl', 4, host='machine-b')
    text = render([batch, other], tmp_path / 'r.html', '--label', 'here')
    page = Page(text)
    assert page.rows == [f'r{i}' for i in range(1, 8)]
    rows = re.findall(r'<tr id="r\d+"[^>]*>(.*?)</tr>', text)
    labels = [re.findall(r'<td class="l">(.*?)</td>', row)[0] for row in rows]
    assert labels == ['here'] * 3 + ['machine-b'] * 4
    assert text.count('class="band"') == 2 * 4  # each chart marks where each ledger begins
