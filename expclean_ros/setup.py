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

from glob import glob

from setuptools import find_packages, setup

package_name = 'expclean_ros'

setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test', 'test.*']),
    package_data={'expclean_ros.ros': ['*.xml']},  # the node's Fast DDS profile
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
        ('share/' + package_name + '/launch',
         glob('launch/*.launch.py') + glob('launch/*.launch.xml') + glob('launch/*.launch.yaml')),
        ('share/' + package_name + '/config', glob('config/*.yaml')),
    ],
    install_requires=['setuptools', 'psutil', 'regex', 'PyYAML>=6.0', 'nvidia-ml-py>=12.535'],
    zip_safe=True,
    maintainer='expclean maintainers',
    maintainer_email='maintainers@expclean.dev',
    description='Cleanup node for repeated ROS 2 experiments.',
    license='Apache-2.0',
    python_requires='>=3.10',
    entry_points={
        'console_scripts': [
            'cleanup_node = expclean_ros.ros.node:run',
            'expclean = expclean_ros.cli:command',
        ],
        # `ros2 cleanup VERB` when ros2cli is installed (nothing loads these otherwise).
        'ros2cli.command': ['cleanup = expclean_ros.command.cleanup:CleanupCommand'],
        'ros2cli.extension_point': ['expclean_ros.verb = expclean_ros.verb:VerbExtension'],
        'expclean_ros.verb': [
            'call = expclean_ros.verb:CallVerb',
            'between-runs = expclean_ros.verb:BetweenRunsVerb',
            'memory = expclean_ros.verb:MemoryVerb',
            'teardown = expclean_ros.verb:TeardownVerb',
            'nodes = expclean_ros.verb:NodesVerb',
            'doctor = expclean_ros.verb:DoctorVerb',
            'report = expclean_ros.verb:ReportVerb',
        ],
        # `ros2 doctor` (and --report) when ros2doctor is installed: expclean's doctor checks
        'ros2doctor.checks': ['ExpcleanCheck = expclean_ros.ros2doctor_plugin:ExpcleanCheck'],
        'ros2doctor.report': ['ExpcleanReport = expclean_ros.ros2doctor_plugin:ExpcleanReport'],
        # the XML and YAML front ends import this to find the expclean_* actions
        'launch.frontend.launch_extension': [
            'expclean_ros = expclean_ros.launch_actions',
        ],
    },
)
