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
Start a command as a tagged run that :func:`teardown` can stop completely.

The command starts in a new session with a fresh run tag in its environment
(inherited by every descendant, even re-parented or ``setsid``'d ones) and,
where the machine offers a writable cgroup v2 with ``cgroup.kill``, in a
cgroup of its own, which nothing can escape. ``TaggedRun.mechanism`` says
which one is in force: ``cgroup`` or ``tag``.
"""

import errno
import logging
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Sequence

from ..procs import cgroups
from ..procs.selection import DEFAULT_TAG_VARIABLE, RUN_TAG_FORMAT, Selection
from ..procs.outcome import TeardownResult
from ..procs.teardown import (DEFAULT_SIGINT_TIMEOUT_S, DEFAULT_SIGKILL_TIMEOUT_S,
                              DEFAULT_SIGTERM_TIMEOUT_S, teardown)

__all__ = ['TaggedRun', 'start_tagged', 'new_run_id', 'RUN_TAG_FORMAT']

_log = logging.getLogger(__name__)


def new_run_id() -> str:
    """Return a fresh run tag value, matching :data:`RUN_TAG_FORMAT`."""
    return 'run-' + uuid.uuid4().hex


@dataclass(frozen=True)
class TaggedRun:
    """A command started by :func:`start_tagged`: its Popen, tag and mechanism."""

    popen: subprocess.Popen
    run_id: str
    tag_variable: str = DEFAULT_TAG_VARIABLE
    mechanism: str = 'tag'
    cgroup: Optional[str] = None
    cgroup_unavailable: str = ''

    @property
    def pid(self) -> int:
        return self.popen.pid

    def selection(self, **kwargs) -> Selection:
        """Return the selection of every process of this run (tag, plus cgroup when used)."""
        return Selection(tag=self.run_id, tag_variable=self.tag_variable, cgroup=self.cgroup,
                         **kwargs)

    def stop(self, sigint_timeout_s: float = DEFAULT_SIGINT_TIMEOUT_S,
             sigterm_timeout_s: float = DEFAULT_SIGTERM_TIMEOUT_S,
             sigkill_timeout_s: float = DEFAULT_SIGKILL_TIMEOUT_S, dry_run: bool = False,
             after_sigkill: Optional[Callable[[int], None]] = None) -> TeardownResult:
        """Tear down everything of this run; reaps the Popen; removes the cgroup."""
        result = teardown(self.selection(), sigint_timeout_s, sigterm_timeout_s,
                          sigkill_timeout_s, dry_run=dry_run, after_sigkill=after_sigkill)
        if not dry_run:
            self.finish(result, sigkill_timeout_s)
        return result

    def finish(self, result: TeardownResult,
               wait_s: float = DEFAULT_SIGKILL_TIMEOUT_S) -> None:
        """After the teardown of this run: reap the Popen (its exit code) and remove the cgroup."""
        for outcome in result.processes:
            if outcome.pid == self.popen.pid and outcome.exit_code is not None:
                self.popen.returncode = outcome.exit_code  # we reaped it for the Popen
        try:
            self.popen.wait(timeout=max(1.0, wait_s))
        except subprocess.TimeoutExpired:
            _log.warning('run %s: pid %d did not exit', self.run_id, self.popen.pid)
        if self.cgroup and not cgroups.remove(self.cgroup):
            _log.warning('run %s: cgroup %s is left behind', self.run_id, self.cgroup)


def start_tagged(cmd: Sequence[str], *, env: Optional[Mapping[str, str]] = None,
                 run_id: Optional[str] = None, tag_variable: str = DEFAULT_TAG_VARIABLE,
                 cwd: Optional[str] = None, stdin=subprocess.DEVNULL, stdout=None, stderr=None,
                 use_cgroup: bool = True, pass_fds: Sequence[int] = ()) -> TaggedRun:
    """
    Start ``cmd`` in a new session, tagged ``tag_variable=run_id`` (fresh by default).

    :param env: the environment (default: ours); the tag is added to it.
    :param use_cgroup: try a cgroup of its own; falls back to the tag when
        the machine does not allow one (the reason is in ``cgroup_unavailable``).
    """
    if isinstance(cmd, str) or not cmd:
        raise ValueError('cmd must be a non-empty sequence of arguments, '
                         'e.g. ["ros2", "launch", ...]')
    run_id = run_id or new_run_id()
    full_env = dict(os.environ if env is None else env)
    full_env[tag_variable] = run_id
    path, why = (None, 'not requested')
    if use_cgroup:
        _check_executable(cmd[0], full_env, cwd)  # the wrapper would hide a missing program
        path, why = cgroups.create(f'expclean-{run_id}')
    popen_args = dict(env=full_env, cwd=cwd, stdin=stdin, stdout=stdout, stderr=stderr,
                      start_new_session=True, pass_fds=tuple(pass_fds))
    if path:
        try:
            popen = subprocess.Popen(_join_wrapper(path, cmd), **popen_args)
        except BaseException:
            cgroups.remove(path)
            raise
        # The wrapper joins before it execs the command; joining it from here as well
        # tells us at once whether joining works (a no-op when it already joined).
        error = cgroups.join(path, popen.pid)
        if error is not None and error.errno != errno.ESRCH:
            # the wrapper fails the same way and exits 126 without running the command
            _log.warning('run %s: cannot join cgroup %s (%s); using the tag', run_id, path,
                         error)
            try:
                popen.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait()
            if not cgroups.populated(path):
                cgroups.remove(path)
                path, why = None, f'cannot join cgroup: {error.strerror or error}'
            else:  # pragma: no cover - cannot happen: the wrapper exits before exec
                return TaggedRun(popen, run_id, tag_variable, 'cgroup', path, '')
        else:  # joined, or already exited (its children, if any, are in the cgroup)
            _log.info('started run %s (pid %d, cgroup)', run_id, popen.pid)
            return TaggedRun(popen, run_id, tag_variable, 'cgroup', path, '')
    popen = subprocess.Popen(list(cmd), **popen_args)
    _log.info('started run %s (pid %d, tag: %s)', run_id, popen.pid, why)
    return TaggedRun(popen, run_id, tag_variable, 'tag', None, why)


# $1 is the cgroup; exec keeps the pid, so the Popen is the command itself.
_JOIN_SCRIPT = 'echo 0 > "$1/cgroup.procs" || exit 126; shift; exec "$@"'


def _join_wrapper(path: str, cmd: Sequence[str]) -> list:
    """
    ``cmd`` behind a shell that joins the cgroup ``path`` first.

    No ``preexec_fn``: unsafe when the caller has threads, as with rclpy.
    """
    return ['/bin/sh', '-c', _JOIN_SCRIPT, 'expclean-join', path, *cmd]


def _check_executable(program: str, env: Mapping[str, str], cwd: Optional[str]) -> None:
    """Raise what ``Popen`` would for a program that cannot be run."""
    if os.sep in program:
        target = program if os.path.isabs(program) else os.path.join(cwd or '.', program)
        if not os.path.exists(target):
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), program)
        if os.path.isdir(target) or not os.access(target, os.X_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), program)
    elif shutil.which(program, path=env.get('PATH', os.defpath)) is None:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), program)
