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

"""config/cleanup.yaml: every parameter with its default, and the node accepts the file."""

import os

import pytest
import yaml

from helpers.paths import PACKAGE_ROOT

from expclean_ros.ros import parameters

CONFIG = os.path.join(PACKAGE_ROOT, 'config', 'cleanup.yaml')


def test_yaml_holds_every_parameter_with_its_default():
    with open(CONFIG) as f:
        params = yaml.safe_load(f)['/**']['ros__parameters']
    assert params == parameters.DEFAULTS


def test_defaults_pass_their_own_checks():
    assert parameters.check(parameters.DEFAULTS) is None


@pytest.mark.parametrize('change,rule', [
    ({'gpu_warn_percent': 99.5}, 'gpu_error_percent'),
    ({'teardown.protect': ['(']}, 'regular expression'),
    ({'teardown.tag_variable': 'A=B'}, 'environment variable name'),
])
def test_bad_values_are_refused_with_the_rule(change, rule):
    reason = parameters.check(dict(parameters.DEFAULTS, **change))
    assert reason is not None and rule in reason


def test_every_number_has_its_range_in_its_descriptor_and_lists_are_typed():
    """
    Ranges are enforced by rclpy from the descriptor, so every number must carry one.

    rclpy enforces them at start-up and on each set, NaN and infinities too, so check() does not
    repeat them.
    """
    pytest.importorskip('rclpy', reason='rclpy (ROS 2 wheels) not installed')
    from rcl_interfaces.msg import ParameterType
    from expclean_ros.ros.messages import parameter_descriptor
    for spec in parameters.PARAMETERS:
        descriptor = parameter_descriptor(spec)
        if isinstance(spec.default, float):
            assert [(r.from_value, r.to_value) for r in descriptor.floating_point_range] == [
                (spec.low, spec.high)], spec.name
        elif isinstance(spec.default, int) and not isinstance(spec.default, bool):
            assert [(r.from_value, r.to_value) for r in descriptor.integer_range] == [
                (spec.low, spec.high)], spec.name
        elif isinstance(spec.default, list):
            assert descriptor.type == ParameterType.PARAMETER_STRING_ARRAY, spec.name
            assert not descriptor.dynamic_typing, spec.name


def test_empty_lists_and_the_old_placeholder_both_mean_none(start_node, client, tmp_path):
    """``[]`` (new files, ``-p name:=[]``) and ``[""]`` (older files) are both accepted."""
    pytest.importorskip('rclpy', reason='rclpy (ROS 2 wheels) not installed')
    from expclean_interfaces.srv import GetMemoryUsage
    from rcl_interfaces.srv import DescribeParameters
    old = tmp_path / 'old.yaml'
    old.write_text('/**:\n  ros__parameters:\n    teardown.patterns: [""]\n'
                   '    hooks.before: [""]\n    hooks.after: []\n')
    start_node('--ros-args', '--params-file', str(old), '-p', 'hooks.before:=[]')
    assert client.call(GetMemoryUsage, '/cleanup/get_memory', GetMemoryUsage.Request(),
                       wait_s=20).success
    response = client.call(DescribeParameters, '/cleanup/describe_parameters',
                           DescribeParameters.Request(names=['teardown.patterns',
                                                             'hooks.before']), wait_s=20)
    assert [d.type for d in response.descriptors] == [9, 9]  # PARAMETER_STRING_ARRAY


def test_node_starts_with_the_shipped_file(start_node, client):
    pytest.importorskip('rclpy', reason='rclpy (ROS 2 wheels) not installed')
    from rcl_interfaces.srv import GetParameters
    start_node('--ros-args', '--params-file', CONFIG, '-p', 'publish_rate:=2.0')
    response = client.call(GetParameters, '/cleanup/get_parameters',
                           GetParameters.Request(names=['teardown.sigint_timeout_s',
                                                        'publish_rate', 'teardown.protect']),
                           wait_s=20)
    values = response.values
    assert values[0].double_value == parameters.DEFAULTS['teardown.sigint_timeout_s']
    assert values[1].double_value == 2.0
    assert list(values[2].string_array_value) == parameters.DEFAULTS['teardown.protect']


def test_longest_cleanup_covers_what_the_parameters_allow():
    """The CLI's default timeout: hooks, escalation, settle cap, GPU reset, plus slack."""
    base = parameters.longest_cleanup_s({}, 'comprehensive')
    assert base == 30.0 + 5.0 + parameters.SLACK_S  # auto cap 30 s, 2+2+1 s escalation
    values = {'hooks.before': ['a', 'b'], 'hooks.after': ['c'], 'hooks.timeout_s': 100.0,
              'settle.comprehensive_cap_s': 600.0, 'allow_gpu_reset': True,
              'teardown.sigint_timeout_s': 60.0}
    assert parameters.longest_cleanup_s(values, 'comprehensive') == (
        300.0 + 63.0 + 600.0 + parameters.GPU_RESET_BOUND_S + parameters.SLACK_S)
    assert parameters.longest_cleanup_s(values, 'quick') == (
        300.0 + 63.0 + 15.0 + parameters.SLACK_S)
    assert parameters.longest_cleanup_s(values, 'quick', wait_s=600.0) == (
        300.0 + 63.0 + 600.0 + parameters.SLACK_S)
    assert parameters.longest_cleanup_s(values, 'teardown') == 63.0 + parameters.SLACK_S


def test_doctests_of_parameters_and_node_names():
    import doctest

    from expclean_ros.cli import names
    from expclean_ros.ros import discovery, parameter_table
    assert doctest.testmod(parameters).failed == 0
    assert doctest.testmod(names).failed == 0
    assert doctest.testmod(parameter_table).failed == 0
    assert doctest.testmod(discovery).failed == 0


def test_a_parameter_of_the_wrong_type_or_range_is_explained():
    said = parameters.explain("Trying to set parameter 'publish_rate' to '-1' of type 'INTEGER', "
                              "expecting type 'DOUBLE': publish_rate")
    assert said == ('publish_rate must be a number with a decimal point (double, e.g. 1.0) '
                    'from 0 to 50, got -1 (INTEGER)')
    said = parameters.explain('Invalid parameter value (60.0) for parameter. Reason: out of '
                              'range: diagnostics.rate_hz')
    assert said.startswith('diagnostics.rate_hz must be a number with a decimal point')
    assert said.endswith('from 0 to 50, got 60.0'), said
    assert parameters.explain('something else: x') == 'something else: x'
