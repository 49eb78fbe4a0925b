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
Run any launch file with a run tag, a teardown on shutdown and a cleanup call, unchanged.

    ros2 launch expclean_ros wrap.launch.py package:=my_pkg file:=experiment.launch.py rate:=10
    ros2 launch expclean_ros wrap.launch.py file:=/path/to/experiment.launch.xml
    ros2 launch expclean_ros wrap.launch.py file:=exp.launch.py ros_log_dir:=runs/logs

Every process the included file starts carries the run tag (an inherited one
is kept). On shutdown (Ctrl-C, or the included file ending it) the tagged
processes are stopped, tops of the trees first, orphans included; then the
cleanup node (started here, never tagged) runs the ``cleanup`` plan, then it
stops too. Other ``name:=value`` arguments reach the included file. The
expclean part is ``add_cleanup.launch.xml``, which any launch file can include.
A wrong ``file``, ``package``, ``cleanup`` or ``cleanup_namespace`` is refused
with one error before anything starts.
"""

import os

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription, OpaqueFunction
from launch.launch_description_sources import AnyLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.substitutions import FindPackageShare

from expclean_ros.launch_actions.cleanup_call import check_plan, full_node_name

_LOADED = {}  # path -> its launch description source, loaded by _check


def _launch_file(context, package, name):
    """Return the launch file to wrap, or ValueError saying what is wrong (nothing has started)."""
    if not name:
        raise ValueError("wrap.launch.py: give file:=<launch file> (a path, or a file in "
                         "package:=<pkg>'s launch/ folder)")
    if package:
        from ament_index_python.packages import PackageNotFoundError
        try:
            path = PathJoinSubstitution([FindPackageShare(package), 'launch', name]).perform(
                context)
        except (PackageNotFoundError, ValueError, LookupError):
            raise ValueError(f'wrap.launch.py: package:={package}: no such package '
                             f'(AMENT_PREFIX_PATH: {os.environ.get("AMENT_PREFIX_PATH", "")!r})'
                             ) from None
    else:
        path = os.path.abspath(os.path.expanduser(name))
    if not os.path.isfile(path):
        raise ValueError(f'wrap.launch.py: file:={name}: no such launch file ({path}); '
                         "give a path, or a file in package:=<pkg>'s launch/ folder")
    return path


def _check(context):
    """Check every argument before anything starts (the file is loaded here, once)."""
    plan = LaunchConfiguration('cleanup').perform(context)
    namespace = LaunchConfiguration('cleanup_namespace').perform(context)
    if plan not in ('comprehensive', 'quick', 'none'):
        raise ValueError(f"wrap.launch.py: cleanup:={plan}: must be 'comprehensive', 'quick' "
                         "or 'none'")
    try:
        check_plan(full_node_name(f'{namespace}/cleanup'), 'quick')
    except ValueError:
        raise ValueError(f"wrap.launch.py: cleanup_namespace:={namespace}: not a ROS "
                         "namespace (e.g. '/robot1')") from None
    name = LaunchConfiguration('file').perform(context)
    path = _launch_file(context, LaunchConfiguration('package').perform(context), name)
    source = AnyLaunchDescriptionSource(path)
    try:
        source.get_launch_description(context)
    except Exception as exc:
        raise ValueError(f'wrap.launch.py: file:={name} does not load: {exc}') from None
    _LOADED[path] = source


def _include(context):
    """Return the file _check loaded (a Python launch file loaded twice would run twice)."""
    path = _launch_file(context, LaunchConfiguration('package').perform(context),
                        LaunchConfiguration('file').perform(context))
    return [IncludeLaunchDescription(_LOADED.pop(path, None) or
                                     AnyLaunchDescriptionSource(path))]


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
        # The two OpaqueFunctions stay: _check raises before the next actions (nothing starts
        # on a bad argument, with one error), and the file to wrap is a path or a package's
        # file, which launch's substitutions cannot choose between.
        OpaqueFunction(function=_check),
        IncludeLaunchDescription(
            AnyLaunchDescriptionSource(PathJoinSubstitution(
                [FindPackageShare('expclean_ros'), 'launch', 'add_cleanup.launch.xml'])),
            launch_arguments=[('expclean_cleanup', LaunchConfiguration('cleanup')),
                              ('expclean_namespace', LaunchConfiguration('cleanup_namespace')),
                              ('expclean_ros_log_dir', LaunchConfiguration('ros_log_dir')),
                              ('expclean_restart_daemon',
                               LaunchConfiguration('restart_daemon'))]),
        OpaqueFunction(function=_include),
    ])
