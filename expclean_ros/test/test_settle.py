"""Settling against a real child that allocates and frees memory step by step."""

import math
import os
import select
import subprocess
import sys
import time

import pytest

from expclean_ros.core.memory.gpu import gpu_used_bytes
from expclean_ros.core.memory.probes import ram_used_bytes
from expclean_ros.core.memory.settle import SettleResult, fixed_wait, settle

_MIB = 1024 * 1024

# A child that allocates TOTAL MiB in STEP MiB chunks every STEP_S seconds (touching every
# page), then, on a byte from the parent, frees one chunk every FREE_STEP_S seconds (0: all
# at once). It reports "start|allocated|freed <monotonic>" lines on stdout, a pipe only the
# parent holds, and exits when its stdin closes.
CHILD = r'''
import os, sys, time
total, step = int(sys.argv[1]), int(sys.argv[2])
step_s, free_step_s = float(sys.argv[3]), float(sys.argv[4])
def say(what):
    os.write(1, f"{what} {time.monotonic()}\n".encode())
chunks = []
for i in range(total // step):
    chunks.append(bytearray(b"\x01") * (step << 20))
    if i == 0:
        say("start")
    time.sleep(step_s)
say("allocated")
os.read(0, 1)
while chunks:
    chunks.pop()
    if free_step_s:
        time.sleep(free_step_s)
say("freed")
os.read(0, 1)
'''


class AllocChild:
    """The child above, with its pipes; ``close()`` ends and reaps it by pid."""

    def __init__(self, total_mib=512, step_mib=32, step_s=0.06, free_step_s=0.04):
        self.proc = subprocess.Popen(
            [sys.executable, '-c', CHILD, str(total_mib), str(step_mib), str(step_s),
             str(free_step_s)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL)
        self._buf = b''

    def wait_for(self, what: str, timeout_s: float = 30.0) -> float:
        """Return the child's monotonic time of event ``what``."""
        deadline = time.monotonic() + timeout_s
        fd = self.proc.stdout.fileno()
        while True:
            while b'\n' in self._buf:
                line, self._buf = self._buf.split(b'\n', 1)
                name, stamp = line.decode().split()
                if name == what:
                    return float(stamp)
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError(f'child did not report {what!r}')
            data = os.read(fd, 4096)
            if not data:
                raise EOFError(f'child exited before {what!r}')
            self._buf += data

    def free(self) -> None:
        self.proc.stdin.write(b'x')
        self.proc.stdin.flush()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()  # our own child, by pid
        self.proc.wait(10)
        self.proc.stdin.close()
        self.proc.stdout.close()


@pytest.fixture
def child():
    made = []

    def make(**kwargs):
        made.append(AllocChild(**kwargs))
        return made[-1]
    yield make
    for c in made:
        c.close()


def test_idle_machine_settles_quickly():
    result = settle(15.0)
    assert isinstance(result, SettleResult)
    assert result.settled, result
    assert result.samples >= 2
    assert result.ram_used_bytes > 0
    assert result.reason.startswith('settled in')


def test_not_settled_while_allocating_then_settled_after_the_free(child):
    c = child(total_mib=512, step_mib=32, step_s=0.06, free_step_s=0.04)
    c.wait_for('start')
    during = settle(20.0)
    returned = time.monotonic()
    allocated = c.wait_for('allocated', 5)
    assert during.settled, during
    assert returned >= allocated, \
        f'settled {allocated - returned:.3f} s before the child finished allocating: {during}'
    c.free()
    after = settle(20.0)
    returned = time.monotonic()
    freed = c.wait_for('freed', 5)
    assert after.settled, after
    assert returned >= freed, \
        f'settled {freed - returned:.3f} s before the child finished freeing: {after}'
    assert after.ram_used_bytes < during.ram_used_bytes - 256 * _MIB


def test_cap_reached_while_memory_keeps_moving():
    readings = iter(range(0, 10 ** 12, 4 * _MIB))  # seam: RAM grows 4 MiB per reading
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


def _machine_now():
    return ram_used_bytes(), gpu_used_bytes()


def test_back_at_the_baseline_settles_without_waiting_a_window(child):
    ram_base, gpu_base = _machine_now()
    c = child(total_mib=1024, step_mib=128, step_s=0.0, free_step_s=0.0)
    c.wait_for('allocated')
    held = settle(0, ram_baseline_bytes=ram_base, gpu_baseline_bytes=gpu_base)
    assert held.ram_used_bytes > ram_base + 512 * _MIB  # the child holds its memory
    c.close()  # the run's process is gone (killed and reaped)
    # a 5 s window would hold an idle machine 5 s: only the baseline rule ends it early;
    # the wide tolerance absorbs what other jobs on this machine allocate meanwhile
    result = settle(20.0, window_s=5.0, tolerance_bytes=256 * _MIB,
                    ram_baseline_bytes=ram_base, gpu_baseline_bytes=gpu_base)
    assert result.settled, result
    assert result.reason.startswith('back at the memory in use before the run'), result
    assert result.samples < 5.0 / 0.025, result


def test_memory_moving_above_the_baseline_keeps_settling_waiting(child):
    ram_base, gpu_base = _machine_now()
    step_s = 0.06
    c = child(total_mib=1024, step_mib=128, step_s=0.0, free_step_s=step_s)
    c.wait_for('allocated')
    c.free()
    result = settle(20.0, ram_baseline_bytes=ram_base, gpu_baseline_bytes=gpu_base)
    returned = time.monotonic()
    freed = c.wait_for('freed', 5)
    assert result.settled, result
    # not while the child still held half of it (512 MiB) or more above the baseline; the
    # last chunks are left out: other jobs freeing memory meanwhile could hide them
    assert returned >= freed - 4 * step_s, \
        f'settled {freed - returned:.3f} s before the child finished freeing: {result}'


@pytest.mark.parametrize('baselines', [{'ram_baseline_bytes': 10 ** 15},
                                       {'gpu_baseline_bytes': 10 ** 15}])
def test_one_baseline_alone_keeps_the_window_rule(baselines):
    readings = iter(range(0, 10 ** 12, 4 * _MIB))  # seam: RAM grows 4 MiB per reading
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
