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

"""Where each run of a batch writes: its log file and its own ROS_LOG_DIR."""

import os
from typing import Optional

from .options import SequencerOptions

__all__ = ['run_log', 'check_logs', 'ros_log_dir']


def run_log(log_dir: Optional[str], index: int) -> Optional[str]:
    """
    Return the log file of the run at 0-based ``index``.

    Named by its 1-based number, as progress and the summary show it (``run-001.log`` holds run 1).
    """
    return os.path.join(log_dir, f'run-{index + 1:03d}.log') if log_dir else None


def check_logs(log_dir: Optional[str], resume: bool) -> None:
    """Check that a new batch never writes into another batch's logs (``run-NNN.log``...)."""
    if not log_dir or resume or not os.path.isdir(log_dir):
        return
    old = sorted(n for n in os.listdir(log_dir)
                 if n.startswith('run-') and n.endswith(('.log', '-ros')))
    if old:
        raise ValueError(f'log directory {log_dir} already holds run logs ({old[0]}'
                         f'{", ..." if len(old) > 1 else ""}) of another batch: give a new '
                         f'--log-dir, or --resume to continue that batch')


def ros_log_dir(opts: SequencerOptions, ledger_path: str, index: int) -> Optional[str]:
    """Return the run's own ROS_LOG_DIR (made now), or None when runs share ``~/.ros/log``."""
    if not opts.ros_logs:
        return None
    if opts.log_dir:
        path = os.path.join(os.path.abspath(opts.log_dir), f'run-{index + 1:03d}-ros')
    else:
        base = os.path.splitext(os.path.abspath(ledger_path))[0]
        path = os.path.join(f'{base}-ros-logs', f'run-{index + 1:03d}')
    os.makedirs(path, exist_ok=True)
    return path
