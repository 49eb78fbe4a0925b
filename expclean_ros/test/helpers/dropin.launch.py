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

"""An experiment under ros2 launch whose helper double-forks and outlives the launch."""

import os
import sys

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess
from launch.substitutions import LaunchConfiguration

SCRIPT = os.path.join(os.path.dirname(os.path.realpath(__file__)), 'dropin_loop.py')


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument('pidfile'),
        ExecuteProcess(cmd=[sys.executable, SCRIPT, 'experiment', LaunchConfiguration('pidfile')],
                       name='experiment', output='screen')])
