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

"""Teardown as a cleanup step (a :class:`~expclean_ros.core.step_result.StepResult`)."""

from ..step_result import FAILED, OK, StepResult
from .selection import Selection
from .teardown import teardown

__all__ = ['teardown_step']


def teardown_step(selection: Selection, name: str = 'teardown', **kwargs) -> StepResult:
    """
    :func:`teardown` as a cleanup step: ``ok`` when nobody is left, else ``failed``.

    ``data`` carries ``stopped``, ``left``, ``killed``, ``mechanism`` and
    ``processes`` (a list of dicts).
    """
    result = teardown(selection, **kwargs)
    status = OK if not result.left else FAILED
    return StepResult(name, status, result.summary(), result.seconds, result.as_dict())
