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
The cleanup node's own Fast DDS participant re-announces itself every 0.25 s (not 3 s).

Measured (docs/benchmarks.md, "First call from a fresh process"): a fresh participant
that takes the participant id of one that has left finds a long-lived node at once in
about two tries of three; otherwise only when the node next re-announces itself, which
Fast DDS does every 3 s (0.6-2.5 s delays). Settings of the caller do not change it; the
node's announcement period bounds it. The profile applies to the node's own participant
only: it is set for ``rclpy.init`` and taken away again, so processes the node starts do
not inherit it. A user's own profile (``FASTDDS_DEFAULT_PROFILES_FILE`` or
``FASTRTPS_DEFAULT_PROFILES_FILE``) and other RMWs are left alone.

The cleanup call that a launch prepares (launch_actions/prepared_call.py) uses it too,
through :func:`own_participant`: its client is made before the node, so the node
learns of it only when it re-announces itself (measured: the call then waited up to
~2 s after the experiment's end, in about half the runs).
"""

import contextlib
import os
import sys

__all__ = ['PROFILE', 'apply', 'restore', 'profile_variable', 'own_participant']

PROFILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fastdds_node.xml')
_VARIABLES = ('FASTDDS_DEFAULT_PROFILES_FILE', 'FASTRTPS_DEFAULT_PROFILES_FILE')


def profile_variable(environ=os.environ):
    """
    Return the variable the Fast DDS in use reads.

    ``FASTDDS_...`` for Fast DDS 3 (Kilted on), ``FASTRTPS_...`` for Fast DDS 2 (Humble, Jazzy),
    found by its library on the library path (the venv's ``lib`` first).
    """
    folders = [os.path.join(sys.prefix, 'lib')]
    folders += [d for d in environ.get('LD_LIBRARY_PATH', '').split(os.pathsep) if d]
    for folder in folders:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        if any(n.startswith('libfastdds.so') for n in names):
            return _VARIABLES[0]
        if any(n.startswith('libfastrtps.so') for n in names):
            return _VARIABLES[1]
    return _VARIABLES[0]


def apply(environ=os.environ):
    """
    Have Fast DDS load the node's profile for the participant made next.

    Return the variable set, or None where the user's profile or another RMW is in force.
    """
    rmw = environ.get('RMW_IMPLEMENTATION', '')
    if (rmw and not rmw.startswith('rmw_fastrtps')) or any(environ.get(v) for v in _VARIABLES) \
            or not os.path.isfile(PROFILE):
        return None
    variable = profile_variable(environ)
    environ[variable] = PROFILE
    return variable


def restore(variable, environ=os.environ):
    """Take the variable away again once the participant exists (Fast DDS has read it)."""
    if variable is not None:
        environ.pop(variable, None)


class _ProcessOnly:
    """
    ``os.environ`` for reading; writes go to the C environment only (``os.putenv``).

    Fast DDS reads the C environment; Python's ``os.environ`` (which launch copies for the
    processes it starts) never holds the variable.
    """

    def get(self, name, default=None):
        return os.environ.get(name, default)

    def __setitem__(self, name, value):
        os.putenv(name, value)

    def pop(self, name, default=None):
        os.unsetenv(name)
        return default


@contextlib.contextmanager
def own_participant():
    """
    Have a participant made inside the block (in this process) re-announce every 0.25 s.

    For a process that starts others meanwhile (``ros2 launch``): only the C
    environment holds the variable, for the block's length, so a process
    started with an environment of Python's (launch's are) never inherits it.
    Fast DDS reads the profile once per process: where a participant was made
    before, nothing changes.
    """
    environ = _ProcessOnly()
    variable = apply(environ)
    try:
        yield
    finally:
        restore(variable, environ)
