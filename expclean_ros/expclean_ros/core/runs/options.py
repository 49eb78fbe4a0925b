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

"""How the sequencer runs each row (:class:`SequencerOptions`) and what a batch did."""

import os
from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Pattern, Tuple

from ..procs.escalation import (DEFAULT_SIGINT_TIMEOUT_S, DEFAULT_SIGKILL_TIMEOUT_S,
                                DEFAULT_SIGTERM_TIMEOUT_S, StopTimeouts)
from ..procs.selection import DEFAULT_TAG_VARIABLE
from ..units import MIB
from .disturbance import PSI_ROOT, Thresholds
from .quiet_start import check_quiet_start

__all__ = ['SequencerOptions', 'BatchResult', 'CleanupFn', 'STATUS_OK', 'STATUS_FAILED',
           'STATUS_TIMED_OUT', 'STATUS_ERROR']

STATUS_OK = 'ok'                # exited 0
STATUS_FAILED = 'failed'        # exited non-zero
STATUS_TIMED_OUT = 'timed_out'  # ran past its timeout, torn down
STATUS_ERROR = 'error'          # could not start

#: ``cleanup(run_index, total_runs, baseline=None) -> dict`` between runs. ``baseline``
#: is the memory snapshot taken before the run, given only when teardown left none of
#: the run's processes: memory back at it means the run's memory has returned.
CleanupFn = Callable[..., dict]


@dataclass(frozen=True)
class SequencerOptions:
    """
    How to run each row.

    :param timeout_s: per-run limit; past it the run is torn down and recorded
        ``timed_out``. None: no limit.
    :param sigint_timeout_s: teardown wait after SIGINT (then SIGTERM, SIGKILL).
    :param sigterm_timeout_s: teardown wait after SIGTERM.
    :param sigkill_timeout_s: teardown wait after SIGKILL.
    :param tag_variable: the environment variable carrying the run tag.
    :param use_cgroup: put each run in a cgroup of its own where the machine allows.
    :param sample_interval_s: how often memory is sampled for the peak while a run lives.
    :param log_dir: each run's stdout+stderr go to ``log_dir/run-NNN.log`` (made when missing,
        in an existing directory, once the batch has passed its checks); None: inherited.
    :param env: environment of the runs (default: ours); the tag is added.
    :param cwd: working directory of the runs.
    :param shm_cleanup: after each teardown remove what the run left in ``/dev/shm``
        (files new since a record taken before it, tied to it, held by nobody).
    :param verify_tolerance_bytes: memory above its level before the run by more
        than this is reported (``verify`` in the ledger): the run is not ``back``.
    :param end_steps: steps plugged into the end of every run
        (:class:`~.end_of_run.EndStep`): each is called with the run's tag before the
        run starts and returns a step with ``observe()`` (called once the run is over,
        before its teardown) and ``settle()`` (after the teardown, in order, returning a
        StepResult), e.g. ROS plumbing's ``ghosts.GhostWatch`` (a ROS 2 daemon still
        listing the run's nodes is restarted) or the teardown on other hosts.
    :param ros_logs: give each run its own ``ROS_LOG_DIR``: ``log_dir/run-NNN-ros``, or
        beside the ledger in ``<ledger name>-ros-logs/run-NNN`` (recorded as ``ros_log_dir``).
    :param disturbed_stall_share: a run whose time was stalled on cpu, io or memory for more
        than this share is flagged ``disturbed`` (see docs/batches.md for the defaults).
    :param disturbed_foreign_cpu: ... or when processes outside it used more CPU than this
        many cores on average.
    :param pressure_root: where the pressure stall files are (``/proc/pressure``).
    :param quiet_start_s: before each run wait up to this many seconds until the pressure
        and the CPU use of other processes are under the thresholds (ledger field
        ``quiet_start``); None: start at once.
    :param metrics: ``(name, regex)`` pairs (:func:`.figures.parse_metric`): the run's figure
        ``name`` is the first group of the last match in its output (ledger field ``figures``).
    """

    timeout_s: Optional[float] = None
    sigint_timeout_s: float = DEFAULT_SIGINT_TIMEOUT_S
    sigterm_timeout_s: float = DEFAULT_SIGTERM_TIMEOUT_S
    sigkill_timeout_s: float = DEFAULT_SIGKILL_TIMEOUT_S
    tag_variable: str = DEFAULT_TAG_VARIABLE
    use_cgroup: bool = True
    sample_interval_s: float = 0.1
    log_dir: Optional[str] = None
    env: Optional[Mapping[str, str]] = None
    cwd: Optional[str] = None
    shm_cleanup: bool = True
    verify_tolerance_bytes: int = 32 * MIB
    end_steps: Tuple[Callable[[str], object], ...] = ()
    ros_logs: bool = True
    disturbed_stall_share: float = Thresholds.stall_share
    disturbed_foreign_cpu: float = Thresholds.foreign_cpu
    pressure_root: str = PSI_ROOT
    quiet_start_s: Optional[float] = None
    metrics: Tuple[Tuple[str, Pattern], ...] = ()

    def __post_init__(self):
        if self.timeout_s is not None and not self.timeout_s > 0:
            raise ValueError(f'timeout must be greater than zero seconds, got {self.timeout_s}')
        self.timeouts.check()
        self.thresholds  # raises ValueError for a bad threshold
        check_quiet_start(self.quiet_start_s)
        if not self.sample_interval_s > 0:
            raise ValueError('sample_interval_s must be greater than zero')
        if self.log_dir is not None and not os.path.isdir(self.log_dir):
            parent = os.path.dirname(os.path.abspath(self.log_dir))
            if os.path.exists(self.log_dir) or not os.path.isdir(parent):
                raise ValueError(f'log directory {self.log_dir}: not a directory, and not '
                                 f'one that can be made in an existing directory')

    @property
    def thresholds(self) -> Thresholds:
        """Return when a run counts as disturbed."""
        return Thresholds(self.disturbed_stall_share, self.disturbed_foreign_cpu)

    @property
    def timeouts(self) -> StopTimeouts:
        """Return the teardown's waits after SIGINT, SIGTERM and SIGKILL."""
        return StopTimeouts(self.sigint_timeout_s, self.sigterm_timeout_s,
                            self.sigkill_timeout_s)


@dataclass(frozen=True)
class BatchResult:
    """
    What :func:`run_batch` did: ``records`` run now, ``skipped`` indexes already finished.

    ``all_records`` is every finished run of the ledger, in index order.
    ``recovered`` holds the teardowns of runs an interrupted runner left behind.
    """

    ledger_path: str
    records: Tuple[dict, ...]
    skipped: Tuple[int, ...]
    recovered: Tuple[dict, ...]
    all_records: Tuple[dict, ...]
    seconds: float
