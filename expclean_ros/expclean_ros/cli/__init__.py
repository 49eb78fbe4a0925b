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

"""The ``expclean`` command line: call cleanup nodes, run batches, check the machine."""

import sys

from expclean_ros.cli.main import main, reader_gone

__all__ = ['main', 'command']


def command():
    """
    Run the ``expclean`` console command.

    :func:`main`, then, where a verb used ROS (its client is closed by then), leave at once
    (``signals.leave``): the interpreter's exit would add ~0.15 s to every call, Fast DDS's
    participant factory sleeping 100 ms of it.
    """
    code = main()
    try:
        sys.stdout.flush()  # a reader that went away after the last line: quiet too
    except BrokenPipeError:
        code = reader_gone()
    if 'rclpy' in sys.modules:
        from expclean_ros.ros.signals import leave
        leave(code)
    sys.exit(code)
