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
Start the expclean cleanup node.

ros2 launch expclean_ros cleanup.launch.py
ros2 launch expclean_ros cleanup.launch.py namespace:=/robot1 params_file:=my.yaml
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.substitutions import FindPackageShare

from expclean_ros.launch_actions import CleanupNodeAction


def generate_launch_description():
    default_params = PathJoinSubstitution(
        [FindPackageShare('expclean_ros'), 'config', 'cleanup.yaml'])
    return LaunchDescription([
        DeclareLaunchArgument('namespace', default_value='',
                              description="namespace of the node, e.g. '/robot1'"),
        DeclareLaunchArgument('params_file', default_value=default_params,
                              description='YAML file with the node parameters'),
        CleanupNodeAction(namespace=LaunchConfiguration('namespace'),
                          params_file=LaunchConfiguration('params_file'), emulate_tty=True),
    ])
