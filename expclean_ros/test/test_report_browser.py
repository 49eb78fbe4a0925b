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
The report page in a real browser (headless Chromium).

Drawn, one row per run, the verdicts, and no network request. Each check is also run on a page made
to fail it.
"""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from helpers.report_ledgers import expclean, figure_batch, real_batch
from helpers.report_page import Page

CHROMIUM = shutil.which('chromium')


def _skip_reason():
    note = os.path.join(sys.prefix, '.expclean', 'browser.skip')
    if os.path.exists(note):
        return f'headless chromium not installed: {open(note).read().strip()}'
    return ("headless chromium not installed (the set-up installs Debian's chromium where it "
            'runs as root with apt-get: make test)')


pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=_skip_reason())


def chromium_command(tmp_path, page, *args):
    """(Headless Chromium on ``page`` with a fresh profile, the path of its net log)."""
    profile = tmp_path / f'profile-{len(list(tmp_path.iterdir()))}'
    netlog = profile.with_suffix('.netlog.json')
    cmd = [CHROMIUM, '--headless', '--disable-gpu', f'--user-data-dir={profile}',
           '--no-first-run', '--disable-background-networking', '--disable-component-update',
           '--disable-sync', '--disable-default-apps', '--hide-scrollbars',
           '--host-resolver-rules=MAP * ~NOTFOUND', f'--log-net-log={netlog}',
           *args, f'file://{page}']
    if os.geteuid() == 0:
        cmd.insert(1, '--no-sandbox')  # Chromium refuses to run as root with its sandbox
    return cmd, netlog


def chromium(tmp_path, page, *args):
    """Run :func:`chromium_command`; its stdout and the path of its net log."""
    cmd, netlog = chromium_command(tmp_path, page, *args)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, netlog


def page_requests(netlog):
    """
    Return the URLs the page itself asked the network for.

    The browser's own background requests, made for no page, are not counted.
    """
    log = json.loads(netlog.read_text())
    start = log['constants']['logEventTypes']['URL_REQUEST_START_JOB']
    found = []
    for event in log['events']:
        params = event.get('params') or {}
        if event['type'] == start and 'url' in params and \
                str(params.get('network_isolation_key', '')).startswith('file://'):
            found.append(params['url'])
    return found


def drawn_pixels(png):
    from PIL import Image  # installed with matplotlib
    image = Image.open(png).convert('RGB')
    colours = image.getcolors(maxcolors=1 << 20) or []
    return sum(n for n, c in colours if c != (255, 255, 255)), len(colours)


@pytest.fixture(scope='module')
def report_page(tmp_path_factory):
    folder = tmp_path_factory.mktemp('browser')
    ledger = real_batch(folder)
    page = folder / 'report.html'
    done = expclean('report', ledger, '-o', str(page))
    assert done.returncode == 0, done.stderr
    return ledger, page


def test_screenshot_is_not_blank(report_page, tmp_path):
    _, page = report_page
    blank = tmp_path / 'blank.html'
    blank.write_text('<!DOCTYPE html><html><body></body></html>')
    sizes = []
    for target in (blank, page):
        png = tmp_path / f'{target.stem}.png'
        chromium(tmp_path, target, f'--screenshot={png}', '--window-size=1200,1600')
        sizes.append(drawn_pixels(png))
    (blank_ink, _), (ink, colours) = sizes
    assert blank_ink == 0  # the measure sees a blank page as blank
    assert ink > 0.03 * 1200 * 1600 and colours > 50, (ink, colours)


def test_dom_holds_one_row_per_run_and_the_verdicts(report_page, tmp_path):
    ledger, page = report_page
    dom, _ = chromium(tmp_path, page, '--dump-dom')
    seen = Page(dom)
    runs = [line for line in open(ledger) if '"type": "run"' in line]
    assert len(seen.rows) == len(runs) == 3
    text = ' '.join(seen.text)
    for v in json.loads(expclean('report', ledger, '--json').stdout)['verdicts']:
        assert v['text'] in text
    assert seen.tags.count('svg') == 4  # RAM, /dev/shm, times, processes by stage


def test_the_page_makes_no_network_request(report_page, tmp_path):
    _, page = report_page
    _, netlog = chromium(tmp_path, page, '--dump-dom')
    assert page_requests(netlog) == []
    leaky = tmp_path / 'leaky.html'  # the same check on a page that does fetch
    leaky.write_text(page.read_text().replace(
        '</body>', '<img src="http://127.0.0.1:9/x.png"><script src="https://cdn.invalid/a.js">'
                   '</script></body>'))
    _, netlog = chromium(tmp_path, leaky, '--dump-dom')
    assert sorted(page_requests(netlog)) == ['http://127.0.0.1:9/x.png',
                                             'https://cdn.invalid/a.js']


def test_its_script_runs_and_sorts_the_table(report_page, tmp_path):
    ledger, page = report_page
    runs = [json.loads(line) for line in open(ledger) if '"type": "run"' in line]
    heads = re.findall(r'<th[^>]*>(.*?)</th>', page.read_text())
    column = heads.index('run s')
    clicked = tmp_path / 'clicked.html'  # the page, then a click on "run s" once it has loaded
    clicked.write_text(page.read_text().replace(
        '</body>', f'<script>document.querySelectorAll("#run-table th")[{column}].click();'
                   '</script></body>'))
    dom, _ = chromium(tmp_path, clicked, '--dump-dom', '--enable-logging=stderr', '--v=0')
    by_duration = [f'r{r["index"] + 1}' for r in sorted(runs, key=lambda r: r['duration_s'])]
    assert Page(dom).rows == by_duration
    broken = tmp_path / 'broken.html'  # the console check sees a script error
    broken.write_text(page.read_text().replace('</body>', '<script>var x = ;</script></body>'))
    for target, errors in ((page, 0), (broken, 1)):
        done = subprocess.run(chromium_command(tmp_path, target, '--dump-dom',
                                               '--enable-logging=stderr', '--v=0')[0],
                              capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
        assert done.stderr.count('Uncaught') == errors, done.stderr[-2000:]


# the page's own width and the run table's box, written into the page once it is laid out
MEASURE = ('<script>var d = document.documentElement, w = document.querySelector(".wide");'
           'document.body.setAttribute("data-fit", [d.scrollWidth, d.clientWidth, '
           'w.scrollWidth, w.clientWidth].join(","));</script></body>')


def fit(tmp_path, page, text):
    """Return the page's (scroll width, width, table's scroll width, its width) at 1200 px."""
    measured = tmp_path / f'measured-{len(list(tmp_path.iterdir()))}.html'
    measured.write_text(text.replace('</body>', MEASURE))
    dom, _ = chromium(tmp_path, measured, '--dump-dom', '--window-size=1200,900')
    return [int(v) for v in re.search(r'data-fit="([0-9,]+)"', dom).group(1).split(',')]


def test_a_plot_per_figure_and_the_table_fits_1200_px(tmp_path):
    _, ledger = figure_batch(tmp_path, [(10 + i, 30.0) for i in range(4)] + [(14, '-')])
    page = tmp_path / 'report.html'
    done = expclean('report', ledger, '-o', str(page))
    assert done.returncode == 0, done.stderr
    dom, _ = chromium(tmp_path, page, '--dump-dom')
    seen = Page(dom)
    assert seen.tags.count('svg') == 6  # latency, fps, RAM, /dev/shm, times, processes
    labels = re.findall(r'<svg[^>]*aria-label="([^"]*)"', dom)
    assert labels[:2] == ['latency of each run, over run order', 'fps of each run, over run order']
    heads = re.findall(r'<th[^>]*>(.*?)</th>', dom.split('id="run-rows"')[0])
    assert 'latency' in heads and 'fps' in heads and 'between s' in heads
    assert len(seen.rows) == 5
    width, window, table, box = fit(tmp_path, page, page.read_text())
    assert window == 1200 and width <= window and table <= box, (width, window, table, box)
    wide = page.read_text().replace('<div class="wide">', '<div class="wide"><p style="width:'
                                    '1500px;white-space:nowrap">x</p>', 1)
    width, window, table, box = fit(tmp_path, page, wide)  # the check sees an overflow
    assert table > box, (table, box)
