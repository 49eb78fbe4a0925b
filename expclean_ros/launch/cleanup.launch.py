"""Start the expclean cleanup node.

    ros2 launch expclean_ros cleanup.launch.py
    ros2 launch expclean_ros cleanup.launch.py namespace:=/robot1 params_file:=my.yaml
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def generate_launch_description():
    default_params = os.path.join(
        get_package_share_directory('expclean_ros'), 'config', 'cleanup.yaml')
    return LaunchDescription([
        DeclareLaunchArgument('namespace', default_value='',
                              description="namespace of the node, e.g. '/robot1'"),
        DeclareLaunchArgument('params_file', default_value=default_params,
                              description='YAML file with the node parameters'),
        Node(package='expclean_ros', executable='cleanup_node', name='cleanup',
             namespace=LaunchConfiguration('namespace'),
             parameters=[LaunchConfiguration('params_file')],
             output='screen', emulate_tty=True),
    ])
