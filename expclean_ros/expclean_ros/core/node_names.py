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
Full ROS 2 node names (``/robot1/cleanup``): one rule for the CLI and the launch actions.

The rule is ROS 2's: a full node name is ``/`` followed by tokens joined by
single slashes, each token letters, digits and ``_``, not starting with a
digit; a relative name is taken from the root namespace. A namespace joined to
a name (``'/'`` or ``'/robot1/'`` and ``'/cleanup'``, as launch files write
``namespace + '/cleanup'``) takes one slash between them, as launch_ros does
for its nodes. Anything else (spaces, ``~``, an empty or trailing token) is not
a node name.
"""

import re

__all__ = ['full_node_name']

_TOKEN = r'[A-Za-z_][A-Za-z0-9_]*'
_FULL_NAME = re.compile(rf'(/{_TOKEN})+')


def full_node_name(text: str) -> str:
    """
    ``text`` as a full node name, or ValueError saying the rule.

    >>> full_node_name('robot1/cleanup'), full_node_name('/' + '/cleanup')
    ('/robot1/cleanup', '/cleanup')
    >>> full_node_name('/robot1/' + '/cleanup')
    '/robot1/cleanup'
    """
    name = re.sub('/+', '/', '/' + text.strip())
    if not _FULL_NAME.fullmatch(name):
        raise ValueError(f'{text!r} is not a node name: use a full name like /robot1/cleanup '
                         '(tokens of letters, digits and _, not starting with a digit)')
    return name
