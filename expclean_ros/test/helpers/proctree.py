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
Build real process scenes for the teardown tests and benchmark.

Run as ``python proctree.py scene`` (the scene root), ``... node`` (a real
rclpy node), ``... idle ROLE`` (one sleeper) or ``... wide N`` (a tree of N
processes, every tenth ignoring SIGINT). Every process reports ``role pid``
on the pipe fd named by ``$PROCTREE_FD``, a pipe only the builder holds, and
closes it; long-lived processes have DEVNULL stdio. ``start_scene`` builds a
scene from a test and returns the pids by role.

The ``scene`` tree (3 levels), with the stage at which each should exit:

- ``root`` (exits on SIGINT): leads its own session;
- ``int_ignorer`` ignores SIGINT -> sigterm; ``term_ignorer`` ignores SIGINT
  and SIGTERM -> sigkill; ``setsid`` calls setsid -> sigint;
- ``mid`` -> sigint, with ``grandchild`` ignoring SIGINT -> sigterm
  (re-parented once mid has gone);
- ``orphan``: double-forked, re-parented to init, exec'd into ``sleep``
  (renamed) -> sigint;
- ``node``: a real rclpy node that handles SIGINT itself -> sigint.
"""

import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, Optional

HERE = os.path.abspath(__file__)
SCENE_STAGES = {'root': 'sigint', 'int_ignorer': 'sigterm', 'term_ignorer': 'sigkill',
                'setsid': 'sigint', 'mid': 'sigint', 'grandchild': 'sigterm',
                'orphan': 'sigint', 'node': 'sigint'}


def _report(role: str) -> None:
    fd = int(os.environ['PROCTREE_FD'])
    os.write(fd, f'{role} {os.getpid()}\n'.encode())
    os.close(fd)


def _idle() -> None:
    while True:
        signal.pause()


def _ignore(*sigs) -> None:
    for sig in sigs:
        signal.signal(sig, signal.SIG_IGN)


def _fork(role: str, setup=lambda: None, before_report=lambda: None) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            setup()
            before_report()
            _report(role)
            _idle()
        finally:
            os._exit(0)
    return pid


def _orphan() -> None:
    if os.fork() == 0:  # middle: forks the orphan, exits at once
        if os.fork() == 0:
            fd = int(os.environ['PROCTREE_FD'])
            os.write(fd, f'orphan {os.getpid()}\n'.encode())
            os.close(fd)
            os.execvp('sleep', ['sleep', '3600'])
        os._exit(0)


def scene(node: bool) -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if os.environ.get('PROCTREE_ONLY') == 'decoy':
        _report('decoy')
        _idle()
    _fork('int_ignorer', lambda: _ignore(signal.SIGINT))
    _fork('term_ignorer', lambda: _ignore(signal.SIGINT, signal.SIGTERM))
    _fork('setsid', os.setsid)
    _fork('mid', before_report=lambda: _fork('grandchild', lambda: _ignore(signal.SIGINT)))
    _orphan()
    if node:
        fd = int(os.environ['PROCTREE_FD'])
        subprocess.Popen([sys.executable, HERE, 'node'], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(fd,))
    _report('root')
    _idle()


def ros_node() -> None:
    import rclpy
    from rclpy.executors import ExternalShutdownException
    from rclpy.node import Node
    rclpy.init()
    node = Node('proctree_node')
    node.create_timer(0.5, lambda: None)
    _report('node')
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


def wide(total: int, index: int = 0, fanout: int = 10) -> None:
    """Process ``index`` of a tree of ``total``: forks its children, then idles."""
    signal.signal(signal.SIGINT, signal.SIG_IGN if index % 10 == 9 else signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for child in range(index * fanout + 1, min(total, index * fanout + fanout + 1)):
        if os.fork() == 0:
            try:
                wide(total, child, fanout)
            finally:
                os._exit(0)
    _report(f'p{index}')
    _idle()


@dataclass
class Scene:
    """A running scene: pids by role, with their start ticks; ``kill_all`` cleans up."""

    popen: object
    pids: Dict[str, int]
    ticks: Dict[str, int] = field(default_factory=dict)

    def alive(self, role: str) -> bool:
        return _alive(self.pids[role], self.ticks.get(role))

    def kill_all(self) -> None:
        """SIGKILL every process of the scene still running (by pid, after a start time check)."""
        for role, pid in self.pids.items():
            if _alive(pid, self.ticks.get(role)):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        popen = getattr(self.popen, 'popen', self.popen)
        if popen is not None:
            try:
                popen.wait(5)
            except subprocess.TimeoutExpired:
                pass


def _stat(pid: int):
    try:
        with open(f'/proc/{pid}/stat', 'rb') as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(b')') + 2:].split()
    return fields[0].decode(), int(fields[19])


def _alive(pid: int, ticks: Optional[int]) -> bool:
    st = _stat(pid)
    return st is not None and st[0] not in ('Z', 'X') and (ticks is None or st[1] == ticks)


def leaker(sleep_s: float) -> str:
    """
    Return Python code (``python -c``) of a run that leaks: a parent sleeping ``sleep_s``.

    It has a child, plus a double-forked orphan in a session of its own; it prints nothing.
    """
    return ('import os, time\n'
            'if os.fork() == 0:\n'
            '    os.execvp("sleep", ["sleep", "1000"])\n'
            'if os.fork() == 0:\n'
            '    os.setsid()\n'
            '    if os.fork() == 0:\n'
            '        os.execvp("sleep", ["sleep", "1001"])\n'
            '    os._exit(0)\n'
            f'time.sleep({sleep_s:g})\n')


def scene_env(env=None, **extra) -> dict:
    """Our environment plus what a ROS 2 process of this test run needs."""
    out = dict(os.environ if env is None else env)
    out.setdefault('ROS_DOMAIN_ID', '42')
    out['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    out.setdefault('AMENT_PREFIX_PATH', sys.prefix)
    out.update({k: str(v) for k, v in extra.items()})
    return out


def start_scene(args=('scene',), roles=None, env=None, launcher=None, timeout_s=60.0,
                start_new_session=True, script=HERE, prefix=(),
                python=sys.executable) -> Scene:
    """
    Start ``proctree.py ARGS`` and wait until every role in ``roles`` reported its pid.

    ``launcher(cmd, env, pass_fds)`` may start it (e.g. as a tagged run); it
    returns a Popen or an object with ``.popen``.
    """
    if roles is None:
        roles = set(SCENE_STAGES) if '--no-node' not in args else set(SCENE_STAGES) - {'node'}
    read_fd, write_fd = os.pipe()
    env = dict(scene_env() if env is None else env, PROCTREE_FD=str(write_fd))
    cmd = [*prefix, python, script, *args]
    try:
        if launcher is None:
            popen = subprocess.Popen(cmd, env=env, pass_fds=(write_fd,), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=start_new_session)
        else:
            popen = launcher(cmd, env, (write_fd,))
    finally:
        os.close(write_fd)
    sc = Scene(popen, {})
    buf = b''
    deadline = time.monotonic() + timeout_s
    try:
        while set(sc.pids) < set(roles) and time.monotonic() < deadline:
            ready, _, _ = select.select([read_fd], [], [], 0.2)
            if ready:
                chunk = os.read(read_fd, 65536)
                if not chunk:
                    break
                buf += chunk
                *lines, buf = buf.split(b'\n')
                for line in lines:
                    role, pid = line.decode().split()
                    sc.pids[role] = int(pid)
                    st = _stat(int(pid))
                    if st:
                        sc.ticks[role] = st[1]
    finally:
        os.close(read_fd)
    if set(sc.pids) < set(roles):
        sc.kill_all()
        raise RuntimeError(f'scene did not come up: missing {sorted(set(roles) - set(sc.pids))}')
    return sc


def environ_var(pid: int, name: str, timeout_s: float = 10.0):
    """
    Return ``proctable.read_environ_var`` once the process is past any ``execve``.

    Mid-execve its environment reads as empty for a moment: a scene's role reports its pid, then
    execs.
    """
    from expclean_ros.core.procs import proctable
    deadline = time.monotonic() + timeout_s
    while True:
        found = proctable.read_environ_var(pid, name)
        if found[0] != proctable.ENV_EMPTY or time.monotonic() >= deadline:
            return found
        time.sleep(0.01)


def main(argv) -> None:
    mode = argv[1]
    if mode == 'scene':
        scene(node='--no-node' not in argv)
    elif mode == 'node':
        ros_node()
    elif mode == 'idle':
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        _report(argv[2])
        _idle()
    elif mode == 'wide':
        wide(int(argv[2]))
    else:
        raise SystemExit(f'unknown mode {mode!r}')


if __name__ == '__main__':
    main(sys.argv)
