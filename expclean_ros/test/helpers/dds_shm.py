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
Real rclpy pub/sub nodes and the Fast DDS shared-memory files they hold.

Run as a script (``python dds_shm.py NAME TOPIC OUTDIR``), this file is the
test node: a publisher + subscriber that counts messages from its peers.
"""

import os
import signal
import subprocess
import sys
import time

from expclean_ros.core.memory.dds_shm import clean_stale_segments, is_dds_shm_name

SHM = '/dev/shm'
TOPIC = 'expclean_dds_shm_test'


def _node_main(name, topic, outdir):
    """Publish ``name:i`` and write the number of messages received from peers."""
    import rclpy
    from std_msgs.msg import String
    rclpy.init()
    node = rclpy.create_node(name)
    pub = node.create_publisher(String, topic, 10)
    received = [0]

    def on_msg(msg):
        if msg.data.partition(':')[0] != name:
            received[0] += 1
    node.create_subscription(String, topic, on_msg, 10)
    path = os.path.join(outdir, name + '.count')
    deadline = time.monotonic() + 120.0  # never outlive a crashed test for long
    i = 0
    while time.monotonic() < deadline:
        i += 1
        pub.publish(String(data=f'{name}:{i}'))
        rclpy.spin_once(node, timeout_sec=0.05)
        if received[0]:
            with open(path + '.tmp', 'w') as f:
                f.write(str(received[0]))
            os.replace(path + '.tmp', path)


class PubSubNodes:
    """Real rclpy pub/sub node processes started by this test run; killed by PID."""

    def __init__(self, outdir):
        self.outdir = str(outdir)
        self.procs = {}
        self.seen = set()  # every lock file any of our nodes held

    def start(self, name, topic=TOPIC):
        env = dict(os.environ)
        env.setdefault('ROS_DOMAIN_ID', '43')
        env['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
        env.setdefault('AMENT_PREFIX_PATH', sys.prefix)
        env['RMW_IMPLEMENTATION'] = 'rmw_fastrtps_cpp'
        with open(os.path.join(self.outdir, name + '.log'), 'wb') as log:
            self.procs[name] = subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), name, topic, self.outdir],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=env, start_new_session=True)

    def count(self, name):
        try:
            with open(os.path.join(self.outdir, name + '.count')) as f:
                return int(f.read() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def wait_talking(self, names, timeout_s=60.0):
        """Wait until every node in ``names`` has received from a peer."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if all(self.count(n) > 0 for n in names):
                return True
            for n in names:
                if self.procs[n].poll() is not None:
                    raise RuntimeError(f'node {n} exited: {self.log(n)}')
            time.sleep(0.1)
        return False

    def log(self, name):
        with open(os.path.join(self.outdir, name + '.log'), 'rb') as f:
            return f.read().decode(errors='replace')[-2000:]

    def lock_files(self, name):
        """Fast DDS lock files the node holds open: the groups it owns."""
        names = set(held_lock_files(self.procs[name].pid))
        self.seen |= names
        return names

    def kill(self, name):
        proc = self.procs[name]
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)  # by PID: our own child
        proc.wait(10)

    def close(self):
        for name in list(self.procs):
            self.kill(name)
        if self.seen:  # leave nothing of ours behind
            clean_stale_segments(only=self.seen)


def held_lock_files(pid):
    """Names of the Fast DDS lock files in /dev/shm that process ``pid`` holds open."""
    names = []
    fd_dir = f'/proc/{pid}/fd'
    try:
        fds = os.listdir(fd_dir)
    except (FileNotFoundError, PermissionError):
        return names
    for fd in fds:
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if target.startswith(SHM + '/'):
            base = target[len(SHM) + 1:]
            if is_dds_shm_name(base) and base.endswith(('_el', '_sl')):
                names.append(base)
    return names


def group_files(lock_names):
    """Files in /dev/shm of the groups these lock files belong to."""
    bases = {n[:-3] for n in lock_names}
    out = set()
    for name in os.listdir(SHM):
        for base in bases:
            if name in (base, base + '_el', base + '_sl', 'sem.' + base + '_mutex'):
                out.add(name)
    return out


def stale(lock_names):
    """
    Return the data segments (and their locks) of these groups still in /dev/shm.

    Data segments (``fastdds_<16 hex>``) have random names, one per
    participant: those of killed nodes must be gone. Ports
    (``fastdds_port<N>``) are numbered per domain and machine, and other
    participants on the domain open, reclaim and reuse them at any moment, so
    their fate is not asserted here (test_dds_shm.py covers ports on their own).
    """
    return {name for name in group_files(lock_names) if 'port' not in name}


if __name__ == '__main__':
    _node_main(*sys.argv[1:4])
