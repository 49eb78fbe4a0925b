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

"""The report page as parsed HTML: tags, URLs, the rows of the run table, text."""

from html.parser import HTMLParser

URL_ATTRS = ('src', 'href', 'srcset', 'action', 'poster', 'data', 'xlink:href', 'formaction')


class Page(HTMLParser):
    """Tags, every URL-like attribute, the rows of the run table, and all text."""

    def __init__(self, text):
        super().__init__()
        self.tags, self.urls, self.rows, self.text = [], [], [], []
        self._in_rows = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in URL_ATTRS:
                self.urls.append(value or '')
        if tag == 'tbody' and dict(attrs).get('id') == 'run-rows':
            self._in_rows = True
        elif tag == 'tr' and self._in_rows:
            self.rows.append(dict(attrs).get('id'))

    def handle_endtag(self, tag):
        if tag == 'tbody':
            self._in_rows = False

    def handle_data(self, data):
        self.text.append(data)
