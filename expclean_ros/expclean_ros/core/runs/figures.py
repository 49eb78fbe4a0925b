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
A run's own figures (latency, throughput, ...): from its output by ``--metric``, and from a file.

Each figure is a number under its name. ``--metric NAME=REGEX``: the first group of the last
match of REGEX in the run's output (its log, or the terminal output, copied on its way there).
The file named by ``EXPCLEAN_METRICS``: JSON lines the run may append, ``{"fps": 29.7}``; the
last value written for a name wins. A figure not found is left out, never a zero.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from typing import Dict, Optional, Pattern, Sequence, Tuple

__all__ = ['METRICS_VARIABLE', 'parse_metric', 'metrics_path', 'FigureCapture',
           'figures_in_text', 'figures_in_file', 'write_figures']

#: The environment variable naming the file a run may append its figures to.
METRICS_VARIABLE = 'EXPCLEAN_METRICS'
_HEADER = b'=== expclean run '  # the line the sequencer writes into a log before each run
_CHUNK = 65536


def parse_metric(text: str) -> Tuple[str, Pattern]:
    """
    Return ``(name, regex)`` of ``NAME=REGEX``; ValueError, saying why, for bad input.

    >>> parse_metric('fps=fps: ([0-9.]+)')[0]
    'fps'
    """
    name, sep, pattern = text.partition('=')
    name = name.strip()
    if not sep or not name or not pattern:
        raise ValueError(f'--metric must be NAME=REGEX, e.g. latency_ms=latency ([0-9.]+) ms, '
                         f'got {text!r}')
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f'--metric {name}: bad regular expression {pattern!r}: {exc}') from None
    if regex.groups < 1:
        raise ValueError(f'--metric {name}: the regular expression {pattern!r} has no group; '
                         f'put the number in parentheses, e.g. {name}=value ([0-9.]+)')
    return name, regex


def metrics_path(log_dir: Optional[str], ledger_path: str, index: int) -> str:
    """Return the run's ``EXPCLEAN_METRICS`` file: in the log directory, or beside the ledger."""
    if log_dir:
        return os.path.join(os.path.abspath(log_dir), f'run-{index + 1:03d}-metrics.jsonl')
    base = os.path.splitext(os.path.abspath(ledger_path))[0]
    return os.path.join(f'{base}-metrics', f'run-{index + 1:03d}.jsonl')


def _number(text) -> Optional[float]:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if value == value and abs(value) != float('inf') else None


def figures_in_text(text: str, metrics: Sequence[Tuple[str, Pattern]]) -> Dict[str, float]:
    r"""
    Return each metric's first group of its last match in ``text`` (a number), else nothing.

    >>> figures_in_text('fps 10\nfps 12\n', [parse_metric('fps=fps ([0-9]+)')])
    {'fps': 12.0}
    """
    found = {}
    for name, regex in metrics:
        last = None
        for last in regex.finditer(text):
            pass
        value = _number(last.group(1)) if last is not None else None
        if value is not None:
            found[name] = value
    return found


def figures_in_file(path: str) -> Dict[str, float]:
    """Return the numbers of the JSON lines in ``path`` (last per name wins); {} when missing."""
    found: Dict[str, float] = {}
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            lines = f.readlines()
    except OSError:
        return found
    for line in lines:
        try:
            data = json.loads(line)
        except ValueError:
            continue
        for name, value in (data.items() if isinstance(data, dict) else ()):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                number = _number(value)
                if number is not None:
                    found[str(name)] = number
    return found


def check_figures(figures) -> Dict[str, float]:
    """
    Return ``figures`` (name -> number) as floats; ValueError names one that is not finite.

    >>> check_figures({'fps': 30})
    {'fps': 30.0}
    """
    for name, value in figures.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                _number(value) is None:
            raise ValueError(f'figure {name} must be a finite number, got {value!r}')
    return {str(name): float(value) for name, value in figures.items()}


def write_figures(**figures: float) -> bool:
    """
    Append the run's figures to ``$EXPCLEAN_METRICS``, for a run of ``expclean run``.

    E.g. ``write_figures(latency_ms=12.3, fps=29.7)``. Return False (writing nothing) when the
    variable is not set: the program does not run under ``expclean run``.

    :raises ValueError: a figure that is not a finite number.
    """
    check_figures(figures)
    path = os.environ.get(METRICS_VARIABLE)
    if not path:
        return False
    with open(path, 'a', encoding='utf-8') as f:
        f.write(json.dumps(figures) + '\n')
    return True


class FigureCapture:
    """One run's figures: set up before it starts (``env``, ``pipes``), read once it is over."""

    def __init__(self, metrics, metrics_file: str, log_path: Optional[str]):
        self.metrics = tuple(metrics)
        self.metrics_file = metrics_file
        self.log_path = log_path
        self.offset = os.path.getsize(log_path) if log_path and os.path.exists(log_path) else 0
        self.copy = None  # the terminal output, copied, when there is no log
        self.threads = []
        self.folder = os.path.dirname(metrics_file)
        self.made = not os.path.isdir(self.folder)
        os.makedirs(self.folder, exist_ok=True)
        if os.path.exists(metrics_file):  # a resumed run's earlier try
            os.remove(metrics_file)

    def env(self, env: dict) -> dict:
        """Return ``env`` with ``EXPCLEAN_METRICS`` set to this run's file."""
        return dict(env, **{METRICS_VARIABLE: self.metrics_file})

    def pipes(self) -> dict:
        """Return Popen's stdout/stderr: pipes to copy when output goes to the terminal."""
        if not self.metrics or self.log_path:
            return {}
        self.copy = tempfile.TemporaryFile()
        return {'stdout': subprocess.PIPE, 'stderr': subprocess.PIPE}

    def follow(self, popen) -> None:
        """Copy the run's pipes to our stdout/stderr, and into the copy searched later."""
        if self.copy is None:
            return
        lock = threading.Lock()
        for pipe, to in ((popen.stdout, sys.stdout), (popen.stderr, sys.stderr)):
            t = threading.Thread(target=_tee, args=(pipe, to, self.copy, lock), daemon=True)
            t.start()
            self.threads.append(t)

    def figures(self, wait_s: float = 5.0) -> Dict[str, float]:
        """Return the run's figures: from its output, then its file (the file wins a name)."""
        for t in self.threads:
            t.join(wait_s)
        found = figures_in_text(self._output(), self.metrics) if self.metrics else {}
        found.update(figures_in_file(self.metrics_file))
        if self.made and not os.listdir(self.folder):  # no run wrote figures: leave no trace
            os.rmdir(self.folder)
        return found

    def _output(self) -> str:
        if self.copy is not None:
            self.copy.seek(0)
            data = self.copy.read()
            self.copy.close()
        elif self.log_path:
            with open(self.log_path, 'rb') as f:
                f.seek(self.offset)
                data = f.read()
            if data.startswith(_HEADER):
                data = data.partition(b'\n')[2]
        else:
            data = b''
        return data.decode('utf-8', errors='replace')


def _tee(pipe, to, copy, lock) -> None:
    """Copy ``pipe`` to the stream ``to`` and to ``copy`` until it closes."""
    out = getattr(to, 'buffer', None)
    try:
        for chunk in iter(lambda: os.read(pipe.fileno(), _CHUNK), b''):
            with lock:
                copy.write(chunk)
            try:
                if out is not None:
                    out.write(chunk)
                    out.flush()
                else:
                    to.write(chunk.decode('utf-8', errors='replace'))
                    to.flush()
            except (OSError, ValueError):
                pass
    finally:
        pipe.close()
