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

"""``expclean doctor`` on the real machine: as root, as nobody, with and without a cleanup node."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import uuid

import pytest

from helpers.nodes import ros_env
from expclean_ros.core.cleanup.steps import DROP_CACHES_PATH
from expclean_ros.core.doctor import diagnose as doctor
from expclean_ros.core.doctor.check import DEGRADED, UNAVAILABLE, WORKS, Check
from expclean_ros.core.doctor.system_checks import check_ros_env
from expclean_ros.core.procs.mounts import mount_of

DOCTOR = [sys.executable, '-m', 'expclean_ros.cli.doctor_verb']
# Lines whose reason does not move between two runs a moment apart.
STABLE = ('nvml', 'torch', 'nvidia_smi', 'gpu_reset', 'drop_caches', 'cgroups', 'ros_env')


def run_doctor(*args, prefix=(), timeout=60):
    return subprocess.run([*prefix, *DOCTOR, *args], env=ros_env(), capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL, cwd='/tmp')


def doctor_json(*args, prefix=()):
    proc = run_doctor('--json', *args, prefix=prefix)
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    assert report['exit_code'] == proc.returncode
    return report, {c['name']: c for c in report['checks']}


def test_check_states_are_validated_and_rendered():
    with pytest.raises(ValueError, match='state must be works, degraded or unavailable'):
        Check('x', 'ok', 'no such state')
    assert Check('a', WORKS, 'fine').line() == 'works       a: fine'
    assert Check('b', DEGRADED, 'why', 'do this').line() == 'degraded    b: why -> do this'
    with pytest.raises(ValueError, match='plan must be one of'):
        doctor.diagnose('thorough')


@pytest.mark.parametrize('env,state,words', [
    ({'ROS_DOMAIN_ID': '45', 'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST'}, WORKS, 'this host'),
    ({'ROS_LOCALHOST_ONLY': '1'}, WORKS, 'unset (0)'),
    ({}, DEGRADED, 'unset (SUBNET)'),
    ({'ROS_AUTOMATIC_DISCOVERY_RANGE': 'subnet'}, DEGRADED, '=SUBNET'),
    ({'ROS_AUTOMATIC_DISCOVERY_RANGE': 'OFF'}, UNAVAILABLE, 'no discovery'),
    ({'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LAN'}, UNAVAILABLE, 'not valid'),
    ({'ROS_DOMAIN_ID': '150'}, UNAVAILABLE, 'not a valid domain'),
])
def test_ros_env_rules(env, state, words):
    check = check_ros_env(env)
    assert check.state == state and words in check.reason, check


def test_as_root_what_this_machine_offers():
    if os.geteuid() != 0:
        pytest.skip('this test reads the machine as root')
    report, checks = doctor_json('--no-ros')
    assert 'cleanup_node' not in checks
    assert checks['memory']['state'] == WORKS
    assert checks['process_table']['state'] == WORKS
    assert checks['process_table']['data']['scope'] == 'all'
    mount = mount_of(DROP_CACHES_PATH)
    if mount and 'ro' not in mount['options']:
        assert checks['drop_caches']['state'] == WORKS, checks['drop_caches']
        assert checks['drop_caches']['reason'].startswith(
            'root, /proc/sys/vm/drop_caches writable')
    assert checks['ros_env']['state'] == WORKS  # conftest keeps discovery on this host
    assert f"ROS_DOMAIN_ID={os.environ['ROS_DOMAIN_ID']}" in checks['ros_env']['reason']
    assert report['needs'] == ['memory', 'process_table'] and report['exit_code'] == 0
    if checks['nvml']['state'] == UNAVAILABLE:  # no NVIDIA driver on this machine
        assert 'NVMLError_LibraryNotFound' in checks['nvml']['reason']
        assert not any(name.startswith('gpu') and name[3:].isdigit() for name in checks)
        assert checks['gpu_reset']['state'] == UNAVAILABLE
        assert 'cannot tell who uses the GPU' in checks['gpu_reset']['reason']
    if shutil.which('nvidia-smi') is None:
        assert checks['nvidia_smi'] == {'name': 'nvidia_smi', 'state': UNAVAILABLE,
                                        'reason': 'nvidia-smi not found on PATH',
                                        'remedy': checks['nvidia_smi']['remedy'], 'data': {}}
    if importlib.util.find_spec('torch') is None:
        assert checks['torch']['state'] == UNAVAILABLE
        assert 'torch not installed' in checks['torch']['reason']


def test_as_nobody_drop_caches_and_process_table_change(as_nobody):
    _, root = doctor_json('--no-ros')
    report, checks = doctor_json('--no-ros', prefix=as_nobody)
    drop = checks['drop_caches']
    assert drop['state'] == DEGRADED and drop['data']['euid'] == 65534
    assert drop['reason'] in ('not root (uid 65534)',) or 'read-only' in drop['reason']
    assert 'step is skipped' in drop['remedy']
    table = checks['process_table']
    assert table['state'] == WORKS, table  # teardown of one's own runs still works
    assert table['data']['scope'] == 'user' and root['process_table']['data']['scope'] == 'all'
    if not table['data']['hidepid']:  # this test's own root processes are denied
        assert table['data']['other_uid_denied'] > 0
    assert 'this user only (uid 65534)' in table['reason']
    assert checks['gpu_reset']['state'] == UNAVAILABLE
    assert report['exit_code'] == 0  # comprehensive needs memory + process table only
    strict = run_doctor('--no-ros', '--need-system-caches', prefix=as_nobody)
    assert strict.returncode == 1, strict.stdout
    assert strict.stdout.splitlines()[-1] == (
        'NOT ready for plan comprehensive: drop_caches not working')
    if root['drop_caches']['state'] == WORKS:
        assert run_doctor('--no-ros', '--need-system-caches').returncode == 0


def test_read_only_proc_sys_as_in_a_container():
    """/proc/sys remounted read-only in a private mount namespace (the host keeps rw)."""
    if os.geteuid() != 0 or shutil.which('unshare') is None:
        pytest.skip('a private read-only /proc/sys needs root and unshare')
    ro = ['unshare', '--mount', '--propagation', 'private', 'sh', '-c',
          'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && exec "$@"',
          'sh']
    probe = subprocess.run([*ro, 'true'], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip(f'cannot remount /proc/sys read-only here: {probe.stderr.strip()}')
    report, checks = doctor_json('--no-ros', '--need-system-caches', prefix=ro)
    assert checks['drop_caches']['state'] == DEGRADED
    assert checks['drop_caches']['reason'] == '/proc/sys is mounted read-only'
    assert report['missing'] == ['drop_caches'] and report['exit_code'] == 1
    # what the doctor predicts is what the step then does
    step = subprocess.run([*ro, sys.executable, '-c',
                           'from expclean_ros.core.cleanup.steps import system_caches; '
                           'r = system_caches(); print(r.status, r.detail)'],
                          capture_output=True, text=True, timeout=60, env=ros_env())
    assert step.stdout.startswith('skipped read-only'), step.stdout + step.stderr


def test_json_matches_text():
    text = run_doctor('--no-ros', '--plan', 'quick')
    report, _ = doctor_json('--no-ros', '--plan', 'quick')
    lines = text.stdout.splitlines()
    assert text.returncode == report['exit_code'] == 0, text.stderr
    assert len(lines) == len(report['checks']) + 1 and lines[-1] == report['summary']
    for line, check in zip(lines, report['checks']):
        assert line.split()[:2] == [check['state'], check['name'] + ':'], line
        if check['name'] in STABLE:
            assert line == Check(**check).line()


def test_exit_codes_follow_the_needs():
    report, checks = doctor_json('--no-ros', '--need-gpu', '--need-cgroups')
    assert report['needs'] == ['memory', 'process_table', 'nvml', 'cgroups']
    expected = [n for n in ('nvml', 'cgroups') if checks[n]['state'] != WORKS]
    assert report['missing'] == expected and report['exit_code'] == int(bool(expected))
    misuse = run_doctor('--no-ros', '--need-node')
    assert misuse.returncode == 1
    assert misuse.stderr.startswith('expclean: error: --need-node needs the ROS graph check')
    via_main = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'expclean'),
                               'doctor', '--no-ros', '--plan', 'quick'], env=ros_env(),
                              capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)
    assert via_main.returncode == 0 and via_main.stdout.splitlines()[-1] == (
        'ready for plan quick (needs memory)'), via_main.stderr


def test_console_entry_for_ros2_run_and_no_bare_doctor():
    """
    ``ros2 run expclean_ros expclean doctor`` runs ``<prefix>/lib/expclean_ros/expclean``.

    No console script named ``doctor`` (it would sit beside ``ros2 doctor``).
    """
    from importlib.metadata import distribution
    scripts = {e.name for e in distribution('expclean_ros').entry_points
               if e.group == 'console_scripts'}
    assert scripts == {'cleanup_node', 'expclean'}
    entry = os.path.join(sys.prefix, 'lib', 'expclean_ros', 'expclean')
    if not os.path.exists(entry):
        pytest.skip(f'{entry} not installed (a bare pip install has no lib/expclean_ros)')
    proc = subprocess.run([entry, 'doctor', '--no-ros', '--plan', 'quick'], env=ros_env(),
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == 'ready for plan quick (needs memory)'


def test_stale_segments_are_reported_and_left_alone():
    """A crafted stale Fast DDS pair (owned by nobody, so no parallel cleanup takes it)."""
    name = 'fastdds_' + uuid.uuid4().hex[:16]
    paths = [os.path.join('/dev/shm', name), os.path.join('/dev/shm', name + '_el')]
    try:
        for path in paths:
            with open(path, 'wb') as f:
                f.write(b'\0' * 4096)
            if os.geteuid() == 0:
                os.chown(path, 65534, 65534)
        _, checks = doctor_json('--no-ros', '--plan', 'quick')
        shm = checks['dds_shm']
        assert shm['state'] == WORKS and shm['data']['stale_files'] >= 2, shm
        assert all(os.path.exists(p) for p in paths)  # the doctor changes nothing
    finally:
        for path in paths:
            if os.path.exists(path):
                os.unlink(path)


def test_cleanup_node_on_the_graph(start_node):
    pytest.importorskip('rclpy', reason='rclpy (ROS 2 wheels) not installed')
    domain = os.environ['ROS_DOMAIN_ID']
    report, checks = doctor_json('--plan', 'quick', '--need-node', '--ros-timeout', '1')
    node = checks['cleanup_node']
    assert node['state'] == UNAVAILABLE and report['exit_code'] == 1
    assert node['reason'] == f'no cleanup node on ROS_DOMAIN_ID={domain} within 1 s'
    start_node()
    # discovery ends once the graph is quiet with a node seen: the limit only bounds a hang
    report, checks = doctor_json('--plan', 'quick', '--need-node', '--ros-timeout', '30')
    node = checks['cleanup_node']
    assert node['state'] == WORKS, node
    assert node['data']['nodes'] == ['/cleanup'] and report['exit_code'] == 0
