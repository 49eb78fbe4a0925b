"""Run any launch file with a run tag, a teardown on shutdown and a cleanup call, unchanged.

    ros2 launch expclean_ros wrap.launch.py package:=my_pkg file:=experiment.launch.py rate:=10
    ros2 launch expclean_ros wrap.launch.py file:=/path/to/experiment.launch.xml
    ros2 launch expclean_ros wrap.launch.py file:=exp.launch.py ros_log_dir:=runs/logs

Every process the included file starts carries the run tag (an inherited one
is kept). On shutdown (Ctrl-C, or the included file ending it) the tagged
processes are stopped, tops of the trees first, orphans included; then the
cleanup node (started here, never tagged) runs the ``cleanup`` plan, then it
stops too. Other ``name:=value`` arguments reach the included file. The
expclean part is ``add_cleanup.launch.xml``, which any launch file can include.
"""

import os

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription, OpaqueFunction
from launch.launch_description_sources import AnyLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration

HERE = os.path.dirname(os.path.realpath(__file__))


def _include(context):
    package = LaunchConfiguration('package').perform(context)
    path = LaunchConfiguration('file').perform(context)
    if package:
        from ament_index_python.packages import get_package_share_directory
        path = os.path.join(get_package_share_directory(package), 'launch', path)
    return [IncludeLaunchDescription(AnyLaunchDescriptionSource(path))]


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument('file', description='the launch file: a path, or a file name in '
                              "the launch/ folder of 'package' (e.g. 'experiment.launch.py')"),
        DeclareLaunchArgument('package', default_value='',
                              description='the package holding the launch file'),
        DeclareLaunchArgument('cleanup', default_value='comprehensive',
                              description='after the teardown: comprehensive, quick or none'),
        DeclareLaunchArgument('cleanup_namespace', default_value='',
                              description="namespace of the cleanup node, e.g. '/robot1'"),
        DeclareLaunchArgument('ros_log_dir', default_value='',
                              description="a folder: this run's ROS logs go to "
                              "FOLDER/RUN_TAG (e.g. 'runs/logs'; default: ~/.ros/log)"),
        DeclareLaunchArgument('restart_daemon', default_value='true',
                              description='after the teardown, restart a ROS 2 daemon that '
                              "still lists the run's nodes (true or false)"),
        IncludeLaunchDescription(
            AnyLaunchDescriptionSource(os.path.join(HERE, 'add_cleanup.launch.xml')),
            launch_arguments=[('expclean_cleanup', LaunchConfiguration('cleanup')),
                              ('expclean_namespace', LaunchConfiguration('cleanup_namespace')),
                              ('expclean_ros_log_dir', LaunchConfiguration('ros_log_dir')),
                              ('expclean_restart_daemon',
                               LaunchConfiguration('restart_daemon'))]),
        OpaqueFunction(function=_include),
    ])
