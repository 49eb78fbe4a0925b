"""Start the expclean cleanup node.

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
