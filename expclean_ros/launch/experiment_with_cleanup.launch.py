"""An experiment run with verified cleanup: the cleanup node plus one experiment process.

When the experiment exits (or crashes), everything it started is torn down by
its run tag — nodes that survived Ctrl-C and orphans re-parented after their
parent died included — then the node runs a comprehensive cleanup, then launch
shuts down. The tagged tree is logged at shutdown.

    ros2 launch expclean_ros experiment_with_cleanup.launch.py \\
        experiment:='ros2 bag play /data/run1.db3' cleanup:=comprehensive

Run it from ``expclean run`` to get a ledger per run; the launch keeps the
tag ``expclean run`` gave it:

    expclean run runs.csv --ledger runs.jsonl --no-cleanup -- \\
        ros2 launch expclean_ros experiment_with_cleanup.launch.py experiment:='{command}'
"""

import os
import shlex

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration

from expclean_ros.launch_helpers import (cleanup_node, on_exit_cleanup, on_shutdown_snapshot,
                                         run_tag, tagged_process)


def _experiment(context):
    command = shlex.split(LaunchConfiguration('experiment').perform(context))
    plan = LaunchConfiguration('cleanup').perform(context)
    namespace = LaunchConfiguration('namespace').perform(context).strip('/')
    run_id, tag_actions = run_tag()
    experiment = tagged_process(command, run_id, name='experiment')
    return [
        *tag_actions,
        experiment,
        on_exit_cleanup(experiment, run_id, cleanup=None if plan == 'none' else plan,
                        node_prefix=f'/{namespace}/cleanup' if namespace else '/cleanup'),
        on_shutdown_snapshot(run_id),
    ]


def generate_launch_description():
    # share/expclean_ros/{launch,config} mirrors the source tree: no index lookup needed
    default_params = os.path.join(
        os.path.dirname(os.path.dirname(os.path.realpath(__file__))), 'config', 'cleanup.yaml')
    return LaunchDescription([
        DeclareLaunchArgument(
            'experiment', default_value='timeout --signal=INT 10 ros2 run demo_nodes_py talker',
            description="the experiment command line, e.g. 'ros2 bag play /data/run1.db3'"),
        DeclareLaunchArgument('cleanup', default_value='comprehensive',
                              description='cleanup after the experiment: comprehensive, '
                                          'quick or none'),
        DeclareLaunchArgument('namespace', default_value='',
                              description="namespace of the cleanup node, e.g. '/robot1'"),
        DeclareLaunchArgument('params_file', default_value=default_params,
                              description='YAML file with the cleanup node parameters'),
        cleanup_node(namespace=LaunchConfiguration('namespace'),
                     params_file=LaunchConfiguration('params_file')),
        OpaqueFunction(function=_experiment),
    ])
