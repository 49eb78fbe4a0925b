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
When each phase of a launched run happened, read from ``ros2 launch``'s output.

Every line of launch's output is stamped (monotonic) as it arrives; a phase is
the first line matching its pattern. Phases before the experiment are seconds
after ``ros2 launch`` was started; those after it, seconds after launch
reported the experiment's exit. The cleanup node's answer adds its own
figures (how long the plan ran, how long it settled). Launch's own lines are
written by the code that acts (the Teardown action logs as it goes), so no
product code is needed for timing.
"""

import re
import statistics

#: (phase, pattern) in the order they happen; 'launch exit' is the process exit.
PHASES = (
    ('experiment exit seen by launch', r'\[experiment-\d+\]: process has finished'),
    ('teardown: tagged tree logged', r'tagged processes before teardown'),
    ('teardown: processes stopped', r'\[expclean\]: run \S+: stopped '),
    ('/dev/shm cleaned', r'\[expclean\]: run \S+: run_shm '),
    ('ros2 daemon settled', r'\[expclean\]: run \S+: ros2_daemon '),
    ('cleanup call answered', r'/cleanup (quick|comprehensive): (ok|FAILED)'),
    ('verified clean', r'\[expclean\]: run \S+: (not )?back'),
    ('cleanup node SIGINT', r"sending signal 'SIGINT' to process\[cleanup_node"),
    ('cleanup node exit', r'\[cleanup_node-\d+\]: process has finished'),
)
LAUNCH_EXIT = 'launch exit'
#: Before the experiment: (phase, pattern), seconds after ``ros2 launch`` was started.
START_PHASES = (
    ('launch logging set up', r'\[launch\]: All log files can be found'),
    ('run tag set (RunTag ran)', r'\[expclean\]: run tag '),
    ('cleanup node started', r'\[cleanup_node-\d+\]: process started'),
    ('experiment started', r'\[experiment-\d+\]: process started'),
    ('cleanup call ready (service found)', r'cleanup call \S+ ready'),
)
#: Figures the cleanup node gives in its answer: (row, pattern with the seconds as group 1).
FIGURES = (
    ('of which the plan ran (node)', r'/cleanup \w+: \w+: \w+ \w+ in (\d+\.\d+) s'),
    ('of which it settled (node)', r'/cleanup \w+: \w+: .*settled in (\d+\.\d+) s'),
)
_COMPILED = tuple((name, re.compile(pattern)) for name, pattern in PHASES + START_PHASES)
_FIGURES = tuple((name, re.compile(pattern)) for name, pattern in FIGURES)


class Stamps:
    """First arrival time of each phase's line; feed it every line with its time."""

    def __init__(self):
        self.times = {}
        self.figures = {}

    def line(self, text, now):
        """Stamp ``text``, which arrived ``now`` seconds after launch started."""
        for name, pattern in _COMPILED:
            if name not in self.times and pattern.search(text):
                self.times[name] = now
        for name, pattern in _FIGURES:
            found = pattern.search(text)
            if name not in self.figures and found:
                self.figures[name] = float(found.group(1))

    def relative(self, exit_s):
        """Phase -> seconds after the experiment's exit (launch exit at ``exit_s``)."""
        zero = self.times.get(PHASES[0][0])
        if zero is None:
            return {}
        starts = {name for name, _ in START_PHASES}
        out = {name: t - (0 if name in starts else zero) for name, t in self.times.items()}
        out[LAUNCH_EXIT] = exit_s - zero
        out.update(self.figures)
        return out


def table(timelines):
    """
    Markdown lines: each phase's median time after the experiment's exit, per variant.

    ``timelines``: variant name -> list of ``Stamps.relative`` dicts (one per run).
    A phase a variant never logs shows ``-``.
    """
    names = list(timelines)
    lines = ['| phase (medians) | ' + ' | '.join(names) + ' |',
             '|---|' + '---|' * len(names),
             '| *s after ros2 launch was started:* |' + ' |' * len(names)]
    after = [p for p, _ in PHASES] + [LAUNCH_EXIT] + [f for f, _ in FIGURES]
    for phase in [p for p, _ in START_PHASES] + after:
        if phase == PHASES[0][0]:
            lines.append('| *s after the experiment exit:* |' + ' |' * len(names))
        cells = []
        for name in names:
            seen = [t[phase] for t in timelines[name] if phase in t]
            cells.append(f'{statistics.median(seen):.3f}' if seen else '-')
        lines.append(f'| {phase} | ' + ' | '.join(cells) + ' |')
    return lines
