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

r"""
An experiment with verified cleanup, in Python (the same in .launch.xml and .launch.yaml).

When the experiment exits, or on Ctrl-C, launch shuts down: every process of
the run is stopped by its tag (nodes that survived Ctrl-C and orphans
re-parented after their parent died included), the cleanup node runs the
``cleanup`` plan, then stops. The tagged tree is logged before the teardown.

    ros2 launch expclean_ros experiment_with_cleanup.launch.py \\
        experiment:='ros2 bag play /data/run1.db3' cleanup:=quick

From ``expclean run`` the launch keeps the tag it was given.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, EmitEvent, ExecuteProcess
from launch.events import Shutdown
from launch.substitutions import LaunchConfiguration

from expclean_ros.launch_actions import CleanupNodeAction, RunTag, Teardown


def generate_launch_description():
    namespace = LaunchConfiguration('namespace')
    return LaunchDescription([
        DeclareLaunchArgument('experiment', default_value='sleep 600',
                              description="the experiment command line, e.g. "
                                          "'ros2 bag play /data/run1.db3'"),
        DeclareLaunchArgument('cleanup', default_value='comprehensive',
                              description='after the teardown: comprehensive, quick or none'),
        DeclareLaunchArgument('namespace', default_value='',
                              description="namespace of the cleanup node, e.g. '/robot1'"),
        RunTag(),
        Teardown(on_shutdown=True, cleanup=LaunchConfiguration('cleanup'),
                 cleanup_node=[namespace, '/cleanup']),  # first: refuses a bad plan at once
        CleanupNodeAction(namespace=namespace),
        ExecuteProcess(cmd=[LaunchConfiguration('experiment')], shell=True, name='experiment',
                       output='screen',
                       on_exit=[EmitEvent(event=Shutdown(reason='experiment exited'))]),
    ])
