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
Hosts in one machine, for tests and benchmarks.

Each its own network, PID, mount and UTS namespace, with its own /proc, a private tmpfs on /dev/shm
and its own host name.

Every host has a veth link to a bridge in a namespace of its own; DDS goes between
hosts by unicast to the peers' veth addresses (``ROS_STATIC_PEERS``), with
``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST``. Nothing touches the machine's own
interfaces: every link is made inside the rig's namespaces, and closing the rig
ends each host's PID namespace (its init exits, the kernel ends the rest) and
deletes every namespace it made. Names carry the creating pid, so runs side by
side never meet.

    with Rig(['a', 'b']) as rig:
        node = rig['b'].popen(['cleanup_node', '--ros-args', '-r', '__ns:=/b'])
"""

import json
import os
import shutil
import subprocess

__all__ = ['Rig', 'Host', 'skip_reason', 'SUBNET']

SUBNET = '10.231.0'  # private, and only ever on the rig's own veths inside its namespaces
TOOLS = ('ip', 'unshare', 'nsenter', 'mount')

# The host's init: a private /dev/shm and host name, then wait to be ended.
_INIT = 'mount -t tmpfs -o size=256m,mode=1777 tmpfs /dev/shm && hostname "$1" && echo ready ' \
        '&& exec sleep infinity'


def _ip(*args, check=True):
    return subprocess.run(['ip', *args], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, check=check, timeout=30)


def skip_reason():
    """Why the rig cannot run here, or None."""
    if os.geteuid() != 0:
        return 'the host rig needs root (network and PID namespaces)'
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        return f'the host rig needs {", ".join(missing)} (util-linux, iproute2)'
    name = f'exh{os.getpid()}probe'
    try:
        made = _ip('netns', 'add', name, check=False)
    except OSError as exc:
        return f'ip netns add failed: {exc}'
    if made.returncode != 0:
        return f'ip netns add failed: {made.stderr.strip()}'
    _ip('netns', 'del', name, check=False)
    return None


class Host:
    """One host of the rig: ``popen``/``run`` start processes inside it."""

    def __init__(self, name, netns, address, peers):
        self.name, self.netns, self.address = name, netns, address
        self.peers = peers  # every other host's address, filled in by the rig
        self._init = subprocess.Popen(
            ['ip', 'netns', 'exec', netns, 'unshare', '--pid', '--fork', '--mount',
             '--mount-proc', '--uts', '--propagation', 'private', 'sh', '-c', _INIT, 'init',
             name], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        line = self._init.stdout.readline()
        if line.strip() != 'ready':
            self._init.kill()
            raise RuntimeError(f'host {name} did not start: {self._init.stderr.read()[-500:]}')
        self.init_pid = self._init_child()

    def _init_child(self):
        """Return the root-namespace pid of the host's pid 1 (the child unshare forked)."""
        path = f'/proc/{self._init.pid}/task/{self._init.pid}/children'
        with open(path) as f:
            return int(f.read().split()[0])

    def env(self, base=None, **extra):
        """Return a ROS environment for this host: loopback discovery plus the peers' addresses."""
        env = dict(os.environ if base is None else base)
        env['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
        env['ROS_STATIC_PEERS'] = ';'.join(self.peers)
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def argv(self, argv):
        """``argv`` run inside this host (its network, processes, mounts and host name)."""
        return ['nsenter', '--target', str(self.init_pid), '--net', '--pid', '--mount',
                '--uts', '--', *argv]

    def popen(self, argv, env=None, **kwargs):
        kwargs.setdefault('stdin', subprocess.DEVNULL)
        return subprocess.Popen(self.argv(argv), env=self.env(env), **kwargs)

    def run(self, argv, env=None, timeout=120, **kwargs):
        kwargs.setdefault('stdin', subprocess.DEVNULL)
        kwargs.setdefault('capture_output', True)
        return subprocess.run(self.argv(argv), env=self.env(env), text=True, timeout=timeout,
                              **kwargs)

    def cmdlines(self):
        """Every command line this host's /proc shows, seen from inside it."""
        script = ('import json, os\nout = []\n'
                  'for p in filter(str.isdigit, os.listdir("/proc")):\n'
                  '    try:\n        with open(f"/proc/{p}/cmdline", "rb") as f:\n'
                  '            out.append(f.read().replace(b"\\0", b" ").decode("latin1"))\n'
                  '    except OSError:\n        pass\nprint(json.dumps(out))\n')
        done = self.run(['python3', '-c', script])
        return json.loads(done.stdout)

    def close(self):
        """End the host's PID namespace (every process in it) and its network namespace."""
        if self._init.poll() is None:
            try:
                os.kill(self.init_pid, 9)  # pid 1 of our namespace: the kernel ends the rest
            except ProcessLookupError:
                pass
            try:
                self._init.wait(10)
            except subprocess.TimeoutExpired:
                self._init.kill()
                self._init.wait(10)
        self._init.stdout.close()
        self._init.stderr.close()
        _ip('netns', 'del', self.netns, check=False)


class Rig:
    """Hosts named ``names``, joined by a bridge; a context manager that removes everything."""

    def __init__(self, names):
        self.tag = f'exh{os.getpid()}'
        self.bridge_ns = f'{self.tag}br'
        self.hosts = {}
        addresses = {name: f'{SUBNET}.{i + 1}' for i, name in enumerate(names)}
        try:
            _ip('netns', 'add', self.bridge_ns)
            _ip('-n', self.bridge_ns, 'link', 'add', 'br0', 'type', 'bridge')
            _ip('-n', self.bridge_ns, 'link', 'set', 'br0', 'up')
            for i, name in enumerate(names):
                netns = f'{self.tag}h{i}'
                _ip('netns', 'add', netns)
                _ip('-n', netns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name',
                    f'p{i}', 'netns', self.bridge_ns)
                _ip('-n', self.bridge_ns, 'link', 'set', f'p{i}', 'master', 'br0', 'up')
                _ip('-n', netns, 'addr', 'add', f'{addresses[name]}/24', 'dev', 'eth0')
                _ip('-n', netns, 'link', 'set', 'eth0', 'up')
                _ip('-n', netns, 'link', 'set', 'lo', 'up')
                peers = [a for n, a in addresses.items() if n != name]
                self.hosts[name] = Host(name, netns, addresses[name], peers)
        except BaseException:
            self.close()
            raise

    def __getitem__(self, name):
        return self.hosts[name]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        for host in self.hosts.values():
            host.close()
        self.hosts = {}
        existing = _ip('netns', 'list', check=False).stdout.split()
        for name in existing:
            if name.startswith(self.tag) and name[len(self.tag):][:1] in ('h', 'b'):
                _ip('netns', 'del', name, check=False)
