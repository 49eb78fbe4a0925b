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
A small rclpy pipeline for end-to-end tests: ``python pipeline.py talker|listener|helper``.

talker: publishes /e2e_chatter and double-forks ``helper`` into a session of
its own (it outlives its parent, as daemonised helpers of real stacks do); on
SIGINT it keeps running 1 s, then prints how many SIGINTs it got and exits;
listener: subscribes and ignores SIGINT (a node that never stops on Ctrl-C);
helper: a node publishing /e2e_status; with ``E2E_HELPER_SHM_MIB=N`` it also fills a
shared-memory buffer of N MiB (``psm_e2e_<mark>_<pid>`` in ``EXPCLEAN_SHM_ROOT`` or
/dev/shm, as a shared-memory transport would) and keeps it open, never unlinking it:
the leak of a leaky pipeline, pinned in RAM for as long as anything is left.
"""

import os
import signal
import sys
import threading
import time

import rclpy
from rclpy.executors import ExternalShutdownException
from std_msgs.msg import String


def _spawn_helper():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            os.execv(sys.executable, [sys.executable, os.path.abspath(__file__), 'helper'])
        os._exit(0)
    os.wait()


def _count_interrupts(interrupts):
    """
    Take each SIGINT as it comes (blocked everywhere, waited for here).

    So that two signals a few milliseconds apart count as two; the sender's pid with each.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})  # inherited by rclpy's threads

    def wait():
        while True:
            info = signal.sigwaitinfo({signal.SIGINT})
            interrupts.append((time.monotonic(), info.si_pid))

    threading.Thread(target=wait, daemon=True).start()


def _shm_buffer():
    """Return the helper's buffer (an open fd, kept for its life), or None."""
    mib = int(os.environ.get('E2E_HELPER_SHM_MIB', '0'))
    if mib <= 0:
        return None
    root = os.environ.get('EXPCLEAN_SHM_ROOT', '/dev/shm')
    mark = os.environ.get('EXPCLEAN_TEST_MARK', 'nomark')
    fd = os.open(f'{root}/psm_e2e_{mark}_{os.getpid()}', os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    for _ in range(mib):
        os.write(fd, b'\1' * (1 << 20))
    return fd


def main(role):
    interrupts = []
    buffer = _shm_buffer() if role == 'helper' else None  # noqa: F841 (held open)
    if role == 'talker':
        _spawn_helper()  # before the mask: the helper must get SIGINT as usual
        _count_interrupts(interrupts)
    rclpy.init()
    node = rclpy.create_node(f'e2e_{role}')
    if role == 'listener':
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        node.create_subscription(String, '/e2e_chatter', lambda msg: None, 10)
    else:
        topic = '/e2e_chatter' if role == 'talker' else '/e2e_status'
        pub = node.create_publisher(String, topic, 10)
        node.create_timer(0.1, lambda: pub.publish(String(data=role)))
    print(f'e2e_{role} up', flush=True)
    try:
        while not interrupts or time.monotonic() < interrupts[0][0] + 1.0:
            rclpy.spin_once(node, timeout_sec=0.05)
        senders = [pid for _, pid in interrupts]
        print(f'e2e_{role} got {len(senders)} SIGINT (from pid {senders})', flush=True)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception:
        # rclpy's SIGTERM handler shut the context down while spin_once built its
        # wait set: that race raises RCLError ("the given context is not valid")
        # instead of ExternalShutdownException. A stop like any other.
        if rclpy.ok():
            raise
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == '__main__':
    main(sys.argv[1])
