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

"""What a CleanupClient raises when a call gets no answer."""

__all__ = ['ClientError', 'NoSuchNode']


class ClientError(RuntimeError):
    """A call to a cleanup node did not get an answer (no node, timeout)."""


class NoSuchNode(ClientError):
    """
    The node of a service is not on the graph once discovery has settled.

    :ivar node: the full name asked for.
    :ivar seen: the cleanup nodes seen.
    """

    def __init__(self, message, node, seen):
        super().__init__(message)
        self.node, self.seen = node, list(seen)
