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
Launch actions for expclean, usable from Python, XML and YAML launch files.

Importing this module needs ``launch`` and ``launch_ros``; the rest of
``expclean_ros`` never imports it. The front ends find it through the entry
point group ``launch.frontend.launch_extension``; importing it registers the
XML/YAML tags:

- ``expclean_run_tag`` (:class:`RunTag`): the run tag for everything launched after it.
- ``expclean_cleanup_node`` (:class:`CleanupNodeAction`): the cleanup node, never carrying
  the tag.
- ``expclean_teardown`` (:class:`Teardown`): stop the tagged processes (now or on
  shutdown), then optionally a cleanup call; emits :class:`TeardownDone`.
- ``expclean_cleanup`` (:class:`CleanupCall`): call quick/comprehensive on a node;
  emits :class:`CleanupDone`.
- ``expclean_experiment`` (:class:`Experiment`): a process whose exit shuts launch down
  (``<executable on_exit="shutdown">``, which Humble's front ends do not accept).
"""

#: What the ImportError says where launch is missing (pip cannot install it).
LAUNCH_MISSING = 'launch/launch_ros not installed (not on the package index)'

try:
    import launch.action  # noqa: F401
    import launch_ros.actions  # noqa: F401
except ImportError as exc:
    raise ImportError(f'{LAUNCH_MISSING}: install ROS 2 (source /opt/ros/<distro>/setup.bash) '
                      f'to use expclean_ros.launch_actions ({exc})') from None

from .cleanup_call import CleanupCall  # noqa: E402
from .cleanup_node_action import CleanupNodeAction  # noqa: E402
from .events import CleanupDone, TeardownDone  # noqa: E402
from .experiment import Experiment  # noqa: E402
from .run_tag import RunTag  # noqa: E402
from .teardown import Teardown  # noqa: E402

__all__ = ['RunTag', 'CleanupNodeAction', 'Teardown', 'CleanupCall', 'Experiment',
           'TeardownDone', 'CleanupDone']
