"""Run any launch file with a run tag, a teardown on shutdown and a cleanup call, unchanged.

    ros2 launch expclean_ros wrap.launch.py package:=my_pkg file:=experiment.launch.py rate:=10
    ros2 launch expclean_ros wrap.launch.py file:=/path/to/experiment.launch.xml

Every process the included file starts carries the run tag (an inherited one
is kept). On shutdown (Ctrl-C, or the included file ending it) the tagged
processes are stopped, tops of the trees first, orphans included; then the
cleanup node (started here, never tagged) runs the ``cleanup`` plan, then it
stops too. Other ``name:=value`` arguments reach the included file.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.conditions import LaunchConfigurationEquals, LaunchConfigurationNotEquals
from launch.launch_description_sources import AnyLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.substitutions import FindPackageShare

from expclean_ros.launch_actions import CleanupNode, RunTag, Teardown


def generate_launch_description():
    package, file = LaunchConfiguration('package'), LaunchConfiguration('file')
    namespace = LaunchConfiguration('cleanup_namespace')
    return LaunchDescription([
        DeclareLaunchArgument('file', description='the launch file: a path, or a file name in '
                              "the launch/ folder of 'package' (e.g. 'experiment.launch.py')"),
        DeclareLaunchArgument('package', default_value='',
                              description='the package holding the launch file'),
        DeclareLaunchArgument('cleanup', default_value='comprehensive',
                              description='after the teardown: comprehensive, quick or none'),
        DeclareLaunchArgument('cleanup_namespace', default_value='',
                              description="namespace of the cleanup node, e.g. '/robot1'"),
        RunTag(),
        CleanupNode(namespace=namespace),
        Teardown(on_shutdown='true', cleanup=LaunchConfiguration('cleanup'),
                 cleanup_node=[namespace, '/cleanup']),
        IncludeLaunchDescription(AnyLaunchDescriptionSource(file),
                                 condition=LaunchConfigurationEquals('package', '')),
        IncludeLaunchDescription(
            AnyLaunchDescriptionSource(PathJoinSubstitution(
                [FindPackageShare(package), 'launch', file])),
            condition=LaunchConfigurationNotEquals('package', '')),
    ])
