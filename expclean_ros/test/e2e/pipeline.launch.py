"""The e2e pipeline under ros2 launch: talker (with its double-forked helper) and listener."""

import os
import sys

from launch import LaunchDescription
from launch.actions import ExecuteProcess

SCRIPT = os.path.join(os.path.dirname(os.path.realpath(__file__)), 'pipeline.py')


def generate_launch_description():
    return LaunchDescription([
        ExecuteProcess(cmd=[sys.executable, SCRIPT, role], name=role, output='screen')
        for role in ('talker', 'listener')])
