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

"""Which processes got their SIGINT from launch or the terminal at this shutdown."""

import os

from launch.events import Shutdown

__all__ = ['presignalled_by']


def _foreground() -> bool:
    """
    Return whether launch's process group is the foreground group of its terminal.

    (then a Ctrl-C there reached every process of the group).
    """
    for fd in (0, 1, 2):
        try:
            if os.isatty(fd):
                return os.tcgetpgrp(fd) == os.getpgrp()
        except OSError:
            continue
    return False


def presignalled_by(context, event):
    """
    Return which processes got their SIGINT from launch or the terminal at this shutdown.

    A predicate over a process's info, or None when nobody has interrupted them yet.
    """
    if not isinstance(event, Shutdown):
        return None
    if not event.due_to_sigint or context.noninteractive:
        me = os.getpid()
        return lambda info: info.ppid == me  # launch interrupts its own children
    if _foreground():
        group = os.getpgrp()
        return lambda info: info.pgid == group
    return None  # SIGINT to launch's pid only: nobody has interrupted them yet
