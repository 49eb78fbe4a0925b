"""A small rclpy pipeline for end-to-end tests: ``python pipeline.py talker|listener|helper``.

talker: publishes /e2e_chatter and double-forks ``helper`` into a session of
its own (it outlives its parent, as daemonised helpers of real stacks do);
listener: subscribes and ignores SIGINT (a node that never stops on Ctrl-C);
helper: a node publishing /e2e_status.
"""

import os
import signal
import sys

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


def main(role):
    if role == 'talker':
        _spawn_helper()
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
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == '__main__':
    main(sys.argv[1])
