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
Rules written once.

Node names, ROS domains and the teardown's default waits are the same wherever they are used (the
CLI, the launch actions, the node's parameters, the sequencer).
"""

import pytest

from expclean_ros.cli import names as cli_names
from expclean_ros.cli.main import CliError
from expclean_ros.core.node_names import full_node_name
from expclean_ros.core.procs.escalation import DEFAULT_STOP_TIMEOUTS_S
from expclean_ros.core.ros_domain import domain_id, safe_domain
from expclean_ros.core.runs.options import SequencerOptions
from expclean_ros.ros import parameters
from helpers import rosproc


@pytest.mark.parametrize('text,name', [
    ('/cleanup', '/cleanup'),
    ('cleanup', '/cleanup'),  # relative: from the root namespace
    ('robot1/cleanup', '/robot1/cleanup'),
    (' /robot1/cleanup ', '/robot1/cleanup'),
    ('/' + '/cleanup', '/cleanup'),  # namespace '/' joined to '/cleanup'
    ('/robot1/' + '/cleanup', '/robot1/cleanup'),  # a namespace with its trailing slash
    ('/_a1/b_2/c3', '/_a1/b_2/c3'),
])
def test_a_namespace_joins_a_name_with_one_slash(text, name):
    assert full_node_name(text) == name
    assert cli_names.full_node_name(text) == name


@pytest.mark.parametrize('text', ['', '/', 'robot 1/cleanup', '/1robot/cleanup', '/robot1/',
                                  '~/cleanup', '/b/clean;rm', '/robot-1/cleanup'])
def test_what_is_no_node_name_is_refused_with_the_rule(text):
    with pytest.raises(ValueError, match='is not a node name.*not starting with a digit'):
        full_node_name(text)
    with pytest.raises(CliError, match='is not a node name'):
        cli_names.full_node_name(text)


@pytest.mark.skipif(bool(rosproc.launch_missing_reason()), reason=rosproc.launch_missing_reason())
def test_launch_actions_use_the_same_rule():
    from expclean_ros.launch_actions import cleanup_call
    assert cleanup_call.full_node_name is full_node_name
    from expclean_ros.core.cleanup import PLANS
    assert cleanup_call.PLANS is PLANS


def test_domain_ids():
    assert [domain_id(t) for t in ('', '0', '101', '232', '233', '-1', 'x', '\u00b2')] == [
        0, 0, 101, 232, None, None, None, None]
    assert [safe_domain(d) for d in (0, 101, 102, 214, 215, 232)] == [
        True, True, False, False, True, True]


def test_the_default_waits_are_the_same_everywhere():
    assert DEFAULT_STOP_TIMEOUTS_S == (2.0, 2.0, 1.0)
    assert tuple(parameters.DEFAULTS[f'teardown.{s}_timeout_s']
                 for s in ('sigint', 'sigterm', 'sigkill')) == DEFAULT_STOP_TIMEOUTS_S
    opts = SequencerOptions()
    assert (opts.sigint_timeout_s, opts.sigterm_timeout_s,
            opts.sigkill_timeout_s) == DEFAULT_STOP_TIMEOUTS_S
