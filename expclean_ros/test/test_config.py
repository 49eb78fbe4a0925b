"""config/cleanup.yaml: every parameter with its default, and the node accepts the file."""

import os

import pytest
import yaml

from conftest import PACKAGE_ROOT

from expclean_ros.core import settings

CONFIG = os.path.join(PACKAGE_ROOT, 'config', 'cleanup.yaml')


def test_yaml_holds_every_parameter_with_its_default():
    with open(CONFIG) as f:
        params = yaml.safe_load(f)['/**']['ros__parameters']
    assert params == settings.DEFAULTS


def test_defaults_pass_their_own_checks():
    assert settings.check(settings.DEFAULTS) is None


@pytest.mark.parametrize('change,rule', [
    ({'gpu_warn_percent': 99.5}, 'gpu_error_percent'),
    ({'publish_rate': -1.0}, 'publish_rate must be >= 0'),
    ({'teardown.protect': ['(']}, 'regular expression'),
    ({'teardown.tag_variable': 'A=B'}, 'environment variable name'),
    ({'settle.window_s': float('inf')}, 'finite'),
])
def test_bad_values_are_refused_with_the_rule(change, rule):
    reason = settings.check(dict(settings.DEFAULTS, **change))
    assert reason is not None and rule in reason


def test_node_starts_with_the_shipped_file(start_node, client):
    pytest.importorskip('rclpy', reason='rclpy (ROS 2 wheels) not installed')
    from rcl_interfaces.srv import GetParameters
    start_node('--ros-args', '--params-file', CONFIG, '-p', 'publish_rate:=2.0')
    response = client.call(GetParameters, '/cleanup/get_parameters',
                           GetParameters.Request(names=['teardown.sigint_timeout_s',
                                                        'publish_rate', 'teardown.protect']),
                           wait_s=20)
    values = response.values
    assert values[0].double_value == settings.DEFAULTS['teardown.sigint_timeout_s']
    assert values[1].double_value == 2.0
    assert list(values[2].string_array_value) == settings.DEFAULTS['teardown.protect']
