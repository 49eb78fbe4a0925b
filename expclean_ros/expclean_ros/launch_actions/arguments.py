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
Action arguments: read from XML/YAML attributes.

Typed by launch's own coercion, the same values on every distro, with one error.
"""

from typing import Dict, Iterable

from launch.frontend import Entity, Parser
from launch.launch_context import LaunchContext
from launch.utilities import normalize_to_list_of_substitutions, perform_substitutions
from launch.utilities.type_utils import (is_normalized_substitution,
                                         normalize_typed_substitution,
                                         perform_typed_substitution)

__all__ = ['parse_attributes', 'typed_argument', 'typed_value']

_EXPECTED = {bool: 'true or false', float: 'a number'}


def parse_attributes(entity: Entity, parser: Parser, names: Iterable[str],
                     kwargs: Dict[str, object]) -> Dict[str, object]:
    """
    Return ``kwargs`` with each attribute of ``names`` the entity has, as substitutions.

    Each goes to the keyword argument of the same name.
    """
    for name in names:
        value = entity.get_attr(name, optional=True)
        if value is not None:
            kwargs[name] = parser.parse_substitution(value)
    return kwargs


def typed_argument(value, data_type):
    """
    Return an action's argument for :func:`typed_value`.

    A ``data_type`` value (an int, for a float), or text and substitutions (text is a substitution
    here, as in XML).
    """
    if isinstance(value, str):
        return normalize_to_list_of_substitutions(value)
    if data_type is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    return normalize_typed_substitution(value, data_type)


def typed_value(context: LaunchContext, value, data_type, what: str):
    """
    ``value`` (from ``normalize_typed_substitution``) as ``data_type``, by launch's rules.

    Launch reads ``1`` and ``0`` as booleans from Jazzy on; Humble's launch refuses
    them, so they are read here on every distro. Anything else launch refuses is a
    ``ValueError`` naming ``what`` and the rule.
    """
    try:
        return perform_typed_substitution(context, value, data_type)
    except (TypeError, ValueError):
        text = (perform_substitutions(context, value) if is_normalized_substitution(value)
                else str(value)).strip()
        if data_type is bool and text in ('1', '0'):
            return text == '1'
        raise ValueError(f'{what} must be {_EXPECTED.get(data_type, data_type)}, '
                         f'got {text!r}') from None
