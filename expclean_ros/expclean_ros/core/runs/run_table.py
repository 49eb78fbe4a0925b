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
A table of experiment runs (CSV or YAML, one row per run) and the command template it fills.

The template is a list of arguments with ``{column}`` fields, e.g.
``['ros2', 'launch', 'my_pkg', 'exp.launch.py', 'bag:={bag}', 'model:={model}']``.
Besides the table's columns, ``{run_index}`` (0-based) and ``{run_number}``
(1-based) are always available. Every check happens before the first run:
an empty table, a field naming a missing column, or a malformed field is a
``ValueError`` that says which.
"""

import csv
import hashlib
import json
import os
import string
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

__all__ = ['RunTable', 'load_table', 'template_fields', 'check_template', 'fill_template',
           'BUILTIN_FIELDS']

BUILTIN_FIELDS = ('run_index', 'run_number')


@dataclass(frozen=True)
class RunTable:
    """
    The rows of a runs table, in order, with the columns and a fingerprint.

    :param path: where it was read from.
    :param columns: column names (CSV header order; YAML: first-seen order).
    :param rows: one dict of strings per run.
    :param fingerprint: sha256 of the rows' content (not of the file's
        formatting), so a ledger can tell whether it belongs to this table.
    """

    path: str
    columns: Tuple[str, ...]
    rows: Tuple[Dict[str, str], ...]
    fingerprint: str

    def __len__(self) -> int:
        return len(self.rows)


def _fingerprint(columns, rows) -> str:
    canonical = json.dumps({'columns': list(columns), 'rows': [dict(r) for r in rows]},
                           sort_keys=True, separators=(',', ':'))
    return 'sha256:' + hashlib.sha256(canonical.encode()).hexdigest()


def _text(value) -> str:
    if value is None:
        return ''
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return str(value)


def _read_csv(path: str):
    with open(path, newline='', encoding='utf-8') as f:
        reader = csv.DictReader(f)
        columns = [c.strip() for c in (reader.fieldnames or []) if c is not None]
        rows = []
        for number, raw in enumerate(reader, start=2):
            if None in raw:
                raise ValueError(f'{path}: line {number} has more cells than the header '
                                 f'({len(columns)} columns)')
            if all(not _text(v).strip() for v in raw.values()):
                continue  # blank line
            rows.append({k.strip(): _text(v).strip() for k, v in raw.items()})
    return columns, rows


def _read_yaml(path: str):
    import yaml
    with open(path, encoding='utf-8') as f:
        data = yaml.safe_load(f)
    if isinstance(data, dict) and 'runs' in data:
        data = data['runs']
    if data is None:
        data = []
    if not isinstance(data, list):
        raise ValueError(f'{path}: a YAML runs table is a list of mappings '
                         f'(or a mapping with a "runs" list), got {type(data).__name__}')
    columns: List[str] = []
    rows = []
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            raise ValueError(f'{path}: run {i} must be a mapping of column: value, '
                             f'got {type(item).__name__}')
        for key in item:
            if str(key) not in columns:
                columns.append(str(key))
        rows.append({str(k): _text(v) for k, v in item.items()})
    return columns, rows


def load_table(path: str) -> RunTable:
    """
    Read a runs table: ``.csv`` (header line + one line per run) or ``.yaml``/``.yml``.

    :raises ValueError: unknown extension, malformed or empty table.
    :raises OSError: the file cannot be read.
    """
    ext = os.path.splitext(path)[1].lower()
    if ext == '.csv':
        columns, rows = _read_csv(path)
    elif ext in ('.yaml', '.yml'):
        columns, rows = _read_yaml(path)
    else:
        raise ValueError(f'{path}: a runs table must end in .csv, .yaml or .yml')
    if not rows:
        raise ValueError(f'{path}: the runs table is empty (no rows): nothing to run')
    clash = [c for c in columns if c in BUILTIN_FIELDS]
    if clash:
        raise ValueError(f'{path}: column names {clash} are reserved (they are filled in '
                         f'by expclean); rename them')
    return RunTable(os.path.abspath(path), tuple(columns), tuple(rows),
                    _fingerprint(columns, rows))


def template_fields(template: Sequence[str]) -> Tuple[str, ...]:
    """
    Return the ``{field}`` names used by ``template``, in order of first use.

    >>> template_fields(['play', 'bag:={bag}', '--rate', '{rate}', '{bag}'])
    ('bag', 'rate')
    """
    names: List[str] = []
    for arg in template:
        try:
            parsed = list(string.Formatter().parse(arg))
        except ValueError as exc:
            raise ValueError(f'bad command template argument {arg!r}: {exc} '
                             f'(write a literal brace as {{{{ or }}}})') from None
        for _, name, _, _ in parsed:
            if name is None:
                continue
            if not name or not name.isidentifier():
                raise ValueError(f'bad field {{{name}}} in {arg!r}: use a column name, '
                                 f'e.g. {{bag}}')
            if name not in names:
                names.append(name)
    return tuple(names)


def check_template(template: Sequence[str], table: RunTable) -> None:
    """Refuse a template that is empty or uses a column the table does not have."""
    if isinstance(template, str) or not template:
        raise ValueError('the command template is empty: give it after "--", '
                         'e.g. -- ros2 launch my_pkg exp.launch.py bag:={bag}')
    known = set(table.columns) | set(BUILTIN_FIELDS)
    missing = [f for f in template_fields(template) if f not in known]
    if missing:
        raise ValueError(f'the command template uses {", ".join("{%s}" % m for m in missing)} '
                         f'but {table.path} has no such column (columns: '
                         f'{", ".join(table.columns) or "none"})')


def fill_template(template: Sequence[str], row: Dict[str, str], index: int) -> List[str]:
    """
    Return the command of run ``index``: every argument formatted with the row's values.

    >>> fill_template(['echo', '{bag}', '#{run_number}'], {'bag': 'a.db3'}, 0)
    ['echo', 'a.db3', '#1']
    """
    values = dict(row)
    values.update(run_index=str(index), run_number=str(index + 1))
    try:
        return [arg.format(**values) for arg in template]
    except (KeyError, IndexError) as exc:
        raise ValueError(f'run {index}: the template needs {exc} which the row lacks') from None
