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
Write expclean_ros/config/cleanup.yaml from the parameter table (ros/parameters.py).

Usage: python scripts/gen_config.py [--check]   (--check: exit 1 if the file is out of date)
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(HERE, 'expclean_ros'))
from expclean_ros.ros.parameters import PARAMETERS  # noqa: E402

CONFIG = os.path.join(HERE, 'expclean_ros', 'config', 'cleanup.yaml')


def render():
    lines = ['# Defaults of the cleanup node; every parameter, with its meaning.',
             '# Generated from expclean_ros/ros/parameters.py by scripts/gen_config.py.',
             '# Use: ros2 launch expclean_ros cleanup.launch.py params_file:=my.yaml',
             '#      or cleanup_node --ros-args --params-file my.yaml',
             '/**:', '  ros__parameters:']
    for spec in PARAMETERS:
        value = spec.default
        if isinstance(value, bool):
            text = 'true' if value else 'false'
        elif isinstance(value, (list, str)):
            text = json.dumps(value)  # JSON strings and lists are valid YAML flow scalars
        else:
            text = repr(value)
        bounds = f' [{spec.low:g}, {spec.high:g}]' if spec.low is not None else ''
        fixed = ' (read-only)' if spec.read_only else ''
        lines.append(f'    # {spec.description}{bounds}{fixed}')
        lines.append(f'    {spec.name}: {text}')
    return '\n'.join(lines) + '\n'


def main(argv):
    text = render()
    if '--check' in argv:
        with open(CONFIG) as f:
            return 0 if f.read() == text else 1
    with open(CONFIG, 'w') as f:
        f.write(text)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
