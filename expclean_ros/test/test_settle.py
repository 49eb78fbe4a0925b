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
Settling against a real child that allocates and frees memory step by step.

In lockstep with the readings (no wall-clock window is assumed to hold on a loaded machine).
"""

import math
import os
import select
import subprocess
import sys

import pytest

from expclean_ros.core.memory.settle import SettleResult, fixed_wait, settle
from expclean_ros.core.units import MIB as _MIB
from helpers.alloc_child import close_child

_NO_LIMIT = 1 << 62  # a tolerance no machine's memory moves by

# A child that allocates (``a``) or frees (``f``) one chunk of STEP MiB per byte it reads
# on stdin, touching every page, and answers each with the number of chunks it holds.
# Chunks are larger than glibc's largest mmap threshold (32 MiB): a freed one goes back
# to the system at once. The tests below sample the child's own RSS, in lockstep with
# its steps: memory moves by one chunk between any two readings, whatever the machine's
# load or what other jobs allocate, until the test stops stepping.
CHILD = r'''
import os, sys
step = int(sys.argv[1]) << 20
chunks = []
while True:
    cmd = os.read(0, 1)
    if not cmd:
        break
    if cmd == b"a":
        chunks.append(bytearray(b"\x01") * step)
    elif cmd == b"f" and chunks:
        chunks.pop()
    os.write(1, f"{len(chunks)}\n".encode())
'''


class StepChild:
    """The child above; ``close()`` ends and reaps it by pid."""

    def __init__(self, step_mib=48):
        self.step_mib = step_mib
        self.proc = subprocess.Popen([sys.executable, '-c', CHILD, str(step_mib)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        self._page = os.sysconf('SC_PAGE_SIZE')

    def step(self, cmd: bytes, timeout_s: float = 60.0) -> int:
        """Allocate (``b'a'``) or free (``b'f'``) one chunk; return the chunks held."""
        self.proc.stdin.write(cmd)
        self.proc.stdin.flush()
        fd = self.proc.stdout.fileno()
        if not select.select([fd], [], [], timeout_s)[0]:  # only a hang ends the wait
            raise TimeoutError(f'child did not answer {cmd!r}')
        line = self.proc.stdout.readline()
        if not line:
            raise EOFError('child exited')
        return int(line)

    def rss(self) -> int:
        with open(f'/proc/{self.proc.pid}/statm') as f:
            return int(f.read().split()[1]) * self._page

    def lockstep(self, cmd: bytes, steps: int):
        """
        Return a ``sample`` for settle().

        Each reading first takes one more step (``steps`` in all), then reads the child's RSS; the
        second value is the steps taken so far.
        """
        taken = []

        def sample():
            if len(taken) < steps:
                taken.append(self.step(cmd))
            return self.rss(), 0
        return sample, taken

    def close(self) -> None:
        close_child(self.proc)


@pytest.fixture
def child():
    made = []

    def make(**kwargs):
        made.append(StepChild(**kwargs))
        return made[-1]
    yield make
    for c in made:
        c.close()


def test_quiet_memory_settles_after_one_window():
    result = settle(15.0, sample=lambda: (1 << 30, 0))
    assert isinstance(result, SettleResult)
    assert result.settled, result
    assert result.samples >= 2
    assert result.reason.startswith('settled in')


def test_the_real_probes_feed_the_window():
    """
    The machine's own readings (RAM, NVML) go through the window.

    Tolerances no machine moves by, so no idle machine is assumed.
    """
    result = settle(60.0, tolerance_bytes=_NO_LIMIT, gpu_tolerance_bytes=_NO_LIMIT)
    assert result.settled, result
    assert result.samples >= 2
    assert result.ram_used_bytes > 0
    assert result.reason.startswith('settled in')


def test_not_settled_while_allocating_then_settled_after_the_free(child):
    c = child(step_mib=48)
    steps = 16  # 16 readings at least 25 ms apart: longer than the 0.3 s window
    sample, taken = c.lockstep(b'a', steps)
    during = settle(60.0, sample=sample)
    assert during.settled, during
    assert len(taken) == steps, f'settled after {len(taken)} of {steps} chunks: {during}'
    assert during.ram_used_bytes >= steps * 48 * _MIB
    sample, taken = c.lockstep(b'f', steps)
    after = settle(60.0, sample=sample)
    assert after.settled, after
    assert taken[-1:] == [0] and len(taken) == steps, \
        f'settled after freeing {len(taken)} of {steps} chunks: {after}'
    assert after.ram_used_bytes < during.ram_used_bytes - 512 * _MIB


def test_cap_reached_while_memory_keeps_moving():
    # seam: RAM grows by more than the tolerance between any two readings, however far
    # apart a loaded machine spaces them
    readings = iter(range(0, 10 ** 15, 64 * _MIB))
    result = settle(0.3, window_s=0.1, interval_s=0.005, sample=lambda: (next(readings), 0))
    assert not result.settled
    assert result.last_rate_bytes_per_s > 0
    assert 'not settled after the 0.3 s cap' in result.reason


def test_gpu_must_be_quiet_or_back_at_baseline():
    gpu = iter(range(10 ** 9, 10 ** 12, 64 * _MIB))  # GPU keeps moving, RAM is still
    moving = settle(0.2, window_s=0.05, interval_s=0.005, sample=lambda: (_MIB, next(gpu)))
    assert not moving.settled
    gpu = iter(range(10 ** 9, 10 ** 12, 64 * _MIB))
    at_base = settle(0.2, window_s=0.05, interval_s=0.005, gpu_baseline_bytes=10 ** 12,
                     sample=lambda: (_MIB, next(gpu)))
    assert at_base.settled


def test_back_at_the_baseline_settles_without_waiting_a_window(child):
    c = child(step_mib=64)
    base = c.rss()
    for _ in range(16):
        c.step(b'a')
    held = settle(0, ram_baseline_bytes=base, gpu_baseline_bytes=0, sample=lambda: (c.rss(), 0))
    assert held.ram_used_bytes > base + 512 * _MIB  # the child holds its memory
    for _ in range(16):
        c.step(b'f')  # the run's memory has gone back
    # a 5 s window would hold an idle machine 5 s: only the baseline rule ends it early,
    # on the second reading back at the baseline
    result = settle(20.0, window_s=5.0, ram_baseline_bytes=base, gpu_baseline_bytes=0,
                    sample=lambda: (c.rss(), 0))
    assert result.settled, result
    assert result.reason.startswith('back at the memory in use before the run'), result
    assert result.samples == 2, result


def test_memory_moving_above_the_baseline_keeps_settling_waiting(child):
    c = child(step_mib=64)
    base = c.rss()
    steps = 16
    for _ in range(steps):
        c.step(b'a')
    sample, taken = c.lockstep(b'f', steps)
    result = settle(60.0, ram_baseline_bytes=base, gpu_baseline_bytes=0, sample=sample)
    assert result.settled, result
    # not while the child still held any chunk above the baseline
    assert len(taken) == steps and taken[-1] == 0, \
        f'settled after freeing {len(taken)} of {steps} chunks: {result}'
    assert result.reason.startswith('back at the memory in use before the run'), result


@pytest.mark.parametrize('baselines', [{'ram_baseline_bytes': 10 ** 15},
                                       {'gpu_baseline_bytes': 10 ** 15}])
def test_one_baseline_alone_keeps_the_window_rule(baselines):
    readings = iter(range(0, 10 ** 15, 64 * _MIB))  # seam: more than the tolerance per reading
    result = settle(0.2, window_s=0.1, interval_s=0.005, sample=lambda: (next(readings), 0),
                    **baselines)
    assert not result.settled, result


def test_zero_cap_returns_at_once():
    result = settle(0)
    assert not result.settled and result.samples == 1


@pytest.mark.parametrize('kwargs', [{'cap_s': -1}, {'cap_s': math.nan}, {'cap_s': True},
                                    {'window_s': 0}, {'interval_s': -0.1},
                                    {'tolerance_bytes': 0}])
def test_bad_parameters_rejected(kwargs):
    with pytest.raises(ValueError, match='must be a finite number'):
        settle(**kwargs)


def test_fixed_wait_is_the_seeds_sleep():
    result = fixed_wait(0.2)
    assert result.settled and result.samples == 0
    assert result.seconds >= 0.2
    with pytest.raises(ValueError, match='>= 0'):
        fixed_wait(-1)
