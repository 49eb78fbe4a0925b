"""Start a command as a tagged run that :func:`teardown` can stop completely.

The command starts in a new session with a fresh run tag in its environment
(inherited by every descendant, even re-parented or ``setsid``'d ones) and,
where the machine offers a writable cgroup v2 with ``cgroup.kill``, in a
cgroup of its own, which nothing can escape. ``TaggedRun.mechanism`` says
which one is in force: ``cgroup`` or ``tag``.
"""

import logging
import os
import subprocess
import uuid
from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Sequence

from . import cgroups
from .selection import DEFAULT_TAG_VARIABLE, Selection
from .teardown import (DEFAULT_SIGINT_TIMEOUT_S, DEFAULT_SIGKILL_TIMEOUT_S,
                       DEFAULT_SIGTERM_TIMEOUT_S, TeardownResult, teardown)

__all__ = ['TaggedRun', 'start_tagged', 'new_run_id']

_log = logging.getLogger(__name__)


def new_run_id() -> str:
    """A fresh run tag value."""
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
        """The selection of every process of this run (tag, plus cgroup when used)."""
        return Selection(tag=self.run_id, tag_variable=self.tag_variable, cgroup=self.cgroup,
                         **kwargs)

    def stop(self, sigint_timeout_s: float = DEFAULT_SIGINT_TIMEOUT_S,
             sigterm_timeout_s: float = DEFAULT_SIGTERM_TIMEOUT_S,
             sigkill_timeout_s: float = DEFAULT_SIGKILL_TIMEOUT_S, dry_run: bool = False,
             after_sigkill: Optional[Callable[[int], None]] = None) -> TeardownResult:
        """Tear down everything of this run; reaps the Popen; removes the cgroup."""
        result = teardown(self.selection(), sigint_timeout_s, sigterm_timeout_s,
                          sigkill_timeout_s, dry_run=dry_run, after_sigkill=after_sigkill)
        if dry_run:
            return result
        for outcome in result.processes:
            if outcome.pid == self.popen.pid and outcome.exit_code is not None:
                self.popen.returncode = outcome.exit_code  # we reaped it for the Popen
        try:
            self.popen.wait(timeout=max(1.0, sigkill_timeout_s))
        except subprocess.TimeoutExpired:
            _log.warning('run %s: pid %d did not exit', self.run_id, self.popen.pid)
        if self.cgroup:
            cgroups.remove(self.cgroup)
        return result


def start_tagged(cmd: Sequence[str], *, env: Optional[Mapping[str, str]] = None,
                 run_id: Optional[str] = None, tag_variable: str = DEFAULT_TAG_VARIABLE,
                 cwd: Optional[str] = None, stdin=subprocess.DEVNULL, stdout=None, stderr=None,
                 use_cgroup: bool = True, pass_fds: Sequence[int] = ()) -> TaggedRun:
    """Start ``cmd`` in a new session, tagged ``tag_variable=run_id`` (fresh by default).

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
        path, why = cgroups.create(f'expclean-{run_id}')
    preexec = None
    procs_fd = None
    if path:
        procs_fd = os.open(os.path.join(path, 'cgroup.procs'), os.O_WRONLY)

        def join_cgroup():  # runs in the child before exec: join the run's cgroup
            os.write(procs_fd, b'0')
        preexec = join_cgroup
    try:
        popen = subprocess.Popen(list(cmd), env=full_env, cwd=cwd, stdin=stdin, stdout=stdout,
                                 stderr=stderr, start_new_session=True, preexec_fn=preexec,
                                 pass_fds=tuple(pass_fds))
    except BaseException:
        if path:
            cgroups.remove(path)
        raise
    finally:
        if procs_fd is not None:
            os.close(procs_fd)
    if path and popen.pid not in cgroups.procs(path):
        _log.warning('run %s: child is not in cgroup %s; using the tag', run_id, path)
        popen.poll()
        path, why = None, 'child did not join the cgroup'
    mechanism = 'cgroup' if path else 'tag'
    _log.info('started run %s (pid %d, %s%s)', run_id, popen.pid, mechanism,
              '' if path else f': {why}')
    return TaggedRun(popen, run_id, tag_variable, mechanism, path, '' if path else why)
