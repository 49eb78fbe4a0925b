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
Stale Fast DDS shared memory: real rclpy nodes killed with SIGKILL, live ones kept.

Other sessions run ROS 2 nodes on this machine at the same time, so the tests
assert only about files attributed to their own processes (the lock files a
node holds open, read from ``/proc/PID/fd``) and check that no live process
anywhere lost a lock file. The test nodes: helpers/dds_shm.py.
"""

import fcntl
import importlib.util
import os
import secrets
import subprocess
import time

import pytest

from expclean_ros.core.memory.dds_shm import (ShmUsage, clean_stale_segments, is_dds_shm_name,
                                              shm_usage)
from helpers.dds_shm import SHM, TOPIC, PubSubNodes, group_files

HAVE_RCLPY = importlib.util.find_spec('rclpy') is not None


def deleted_locks_held_by_live_processes():
    """Fast DDS lock files that some live process holds but that were unlinked."""
    found = []
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        fd_dir = f'/proc/{pid}/fd'
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if target.startswith(SHM + '/') and target.endswith(' (deleted)'):
                base = target[len(SHM) + 1:-len(' (deleted)')]
                if is_dds_shm_name(base) and base.endswith(('_el', '_sl')):
                    found.append((int(pid), base))
    return found


@pytest.fixture
def nodes(tmp_path):
    group = PubSubNodes(tmp_path)
    yield group
    group.close()


@pytest.fixture
def crafted():
    """Files this test creates in /dev/shm; removed at the end whoever owns them."""
    paths = []
    yield paths
    for path in paths:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def _craft(paths, name, size=0, as_nobody=False):
    path = os.path.join(SHM, name)
    if as_nobody:
        subprocess.run(['setpriv', '--reuid', 'nobody', '--regid', 'nogroup',
                        '--clear-groups', 'sh', '-c', f'head -c {size} /dev/zero > "$0"', path],
                       check=True, timeout=10)
    else:
        with open(path, 'wb') as f:
            f.write(b'\0' * size)
    paths.append(path)
    return path


def _tag():
    return secrets.token_hex(8)  # 16 hex digits, like a Fast DDS segment id


# ---- selection rules on crafted files (real files, real flock holders) ----

def test_names_are_matched_strictly():
    for name in ('fastdds_0123456789abcdef', 'fastdds_0123456789abcdef_el',
                 'fastdds_port7411', 'fastdds_port7411_el', 'fastdds_port7411_sl',
                 'sem.fastdds_port7411_mutex', 'fastrtps_port7411',
                 'fastrtps_0123456789abcdef_el'):
        assert is_dds_shm_name(name), name
    for name in ('fastdds_notes.txt', 'myfastdds_port1', 'fastdds_port123456_el',
                 'fastdds_0123456789abcdef_el.bak', 'fastdds_0123456789abcde',
                 'sem.fastdds_port1_mutex.x', 'fastdds_port_el', 'cyclonedds_port1',
                 'iceoryx_mgmt', 'fast_datasharing_01.0f.00.00_1.2.3.4'):
        assert not is_dds_shm_name(name), name


def test_crafted_groups_in_own_root(tmp_path):
    root = str(tmp_path)
    stale = 'fastdds_' + _tag()
    for name, size in ((stale, 65536), (stale + '_el', 0),
                       ('fastdds_port777', 8192), ('fastdds_port777_el', 0),
                       ('sem.fastdds_port777_mutex', 32),
                       ('fastdds_port778', 8192), ('fastdds_port778_el', 0),
                       ('fastdds_' + _tag(), 4096),  # no lock file: never stale
                       ('fastdds_notes.txt', 10)):
        with open(os.path.join(root, name), 'wb') as f:
            f.write(b'\1' * size)
    # a real process holds port 778's lock, as a live listener does
    holder = subprocess.Popen(['flock', '-x', os.path.join(root, 'fastdds_port778_el'),
                               'sleep', '60'], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 60  # only a hang ends the wait
        while 'FLOCK' not in _locks_of(holder.pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert 'FLOCK' in _locks_of(holder.pid), 'flock never took its lock'
        before = shm_usage(root, check_stale=True)
        assert before.files == 8 and before.stale_files == 5
        assert shm_usage(root).stale_files == -1  # cheap by default
        result = clean_stale_segments(root)
        assert result.status == 'ok', result.detail
        assert result.data['files'] == 5 and result.data['kept_live'] == 1
        assert result.data['kept_unlocked'] == 1
        assert result.data['bytes'] == before.stale_bytes > 65536
        left = set(os.listdir(root))
        assert {'fastdds_port778', 'fastdds_port778_el', 'fastdds_notes.txt'} <= left
        assert not {stale, stale + '_el', 'fastdds_port777', 'sem.fastdds_port777_mutex'} & left
    finally:
        holder.kill()  # by PID: our own child
        holder.wait(10)


def _locks_of(pid):
    with open('/proc/locks') as f:
        return ''.join(line for line in f if f' {pid} ' in line)


def test_missing_root_is_skipped(tmp_path):
    result = clean_stale_segments(str(tmp_path / 'absent'))
    assert result.status == 'skipped' and 'does not exist' in result.detail
    assert shm_usage(str(tmp_path / 'absent')) == ShmUsage(0, 0, -1, -1)


def test_other_users_and_look_alikes_are_untouched(crafted):
    foreign = 'fastdds_' + _tag()
    _craft(crafted, foreign, 4096, as_nobody=True)
    _craft(crafted, foreign + '_el', 0, as_nobody=True)
    assert os.stat(crafted[0]).st_uid != os.geteuid()
    look_alikes = ['fastdds_notes.txt', 'myfastdds_port1', 'fastdds_port123456_el',
                   f'fastdds_{_tag()}_el.bak', f'sem.fastdds_port{os.getpid()}_mutex.x']
    for name in look_alikes:
        _craft(crafted, name, 100)
    result = clean_stale_segments(only=[foreign] + look_alikes)
    assert result.data['files'] == 0 and result.data['kept_foreign'] == 1
    clean_stale_segments()  # unrestricted: still spares them
    for path in crafted:
        assert os.path.exists(path), path


# ---- real rclpy nodes ----

needs_rclpy = pytest.mark.skipif(not HAVE_RCLPY, reason='rclpy is not installed in this Python')


def data_segments(names):
    """
    Return the data segments (``<d>_<16 hex>``, and their locks) among file names.

    A data segment has a random name and only its participant creates or removes it.
    Ports (``<d>_port<N>``) are numbered per domain and machine: any participant sending
    to a port may open it, find its listener dead and remove or re-create its files (the
    live pair here among them), so what SIGKILL leaves of a port depends on who got
    there first.
    """
    return {n for n in names if 'port' not in n}


def stale_files(lock_names):
    """Files of these groups whose every lock file can be taken: no live owner."""
    groups = {}
    for name in group_files(lock_names):
        groups.setdefault(name[len('sem.'):-len('_mutex')] if name.startswith('sem.')
                          else name[:-3] if name.endswith(('_el', '_sl')) else name,
                          set()).add(name)
    out = set()
    for names in groups.values():
        locks = [n for n in names if n.endswith(('_el', '_sl'))]
        if locks and not any(_held(os.path.join(SHM, n)) for n in locks):
            out |= names
    return out


def _inodes(names):
    """
    {name.

    inode} of the files of ``names`` still in /dev/shm (a name created anew after a removal has a
    new inode).
    """
    out = {}
    for name in names:
        try:
            out[name] = os.lstat(os.path.join(SHM, name)).st_ino
        except FileNotFoundError:
            continue
    return out


def _held(path):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # drops our lock, if we got it
    return False


@needs_rclpy
def test_killed_nodes_cleaned_live_nodes_kept_and_talking(nodes):
    for name in ('live_a', 'live_b'):
        nodes.start(name, TOPIC + '_live')
    for name in ('dead_a', 'dead_b'):
        nodes.start(name, TOPIC + '_dead')
    assert nodes.wait_talking(['live_a', 'live_b', 'dead_a', 'dead_b'])
    live = nodes.lock_files('live_a') | nodes.lock_files('live_b')
    dead = nodes.lock_files('dead_a') | nodes.lock_files('dead_b')
    assert live and dead and not live & dead
    assert any(n.startswith(('fastdds_port', 'fastrtps_port')) for n in dead)  # 3.x, 2.x
    live_files = group_files(live)
    assert data_segments(group_files(dead)), 'each participant has a data segment'
    for name in ('dead_a', 'dead_b'):
        nodes.kill(name)
    # SIGKILL leaves the dead pair's files behind, but not all for long: a live
    # participant reclaims a dead port (and may create it anew), another job's cleanup
    # may take the rest. Asserted is what the cleanup leaves, not who removed what.
    before = _inodes(group_files(dead))

    # restricted to what the killed nodes owned: none of the files that were there is
    # left stale, the live pair keeps its own
    result = clean_stale_segments(only=dead | live)
    assert result.status == 'ok', result.detail
    assert result.data['kept_live'] >= len(live)
    still = {n for n, ino in _inodes(group_files(dead)).items() if before.get(n) == ino}
    assert not still & stale_files(dead), (still, result.detail)
    assert not data_segments(group_files(dead)), 'the killed nodes\' data segments are gone'
    assert group_files(live) == live_files

    # the whole machine: nothing any live process holds is removed
    clean_stale_segments()
    assert deleted_locks_held_by_live_processes() == []
    assert group_files(live) == live_files

    # and the live pair still talks after the cleanup
    counts = {n: nodes.count(n) for n in ('live_a', 'live_b')}
    deadline = time.monotonic() + 60  # only a hang ends the wait
    while time.monotonic() < deadline:
        if all(nodes.count(n) >= counts[n] + 5 for n in counts):
            break
        time.sleep(0.1)
    assert all(nodes.count(n) >= counts[n] + 5 for n in counts), (counts, nodes.log('live_a'))


@needs_rclpy
def test_nodes_starting_during_cleanup_are_not_hit(nodes):
    nodes.start('start_a', TOPIC + '_start')
    nodes.start('start_b', TOPIC + '_start')
    calls = 0
    deadline = time.monotonic() + 60
    while not (nodes.count('start_a') and nodes.count('start_b')):
        assert time.monotonic() < deadline, nodes.log('start_a')
        clean_stale_segments()  # over and over while both nodes create their segments
        calls += 1
    assert calls > 1
    assert deleted_locks_held_by_live_processes() == []
    own = nodes.lock_files('start_a') | nodes.lock_files('start_b')
    assert len(group_files(own)) >= 2 * len(own)  # every group still has its files


@needs_rclpy
def test_usage_counts_dds_files(nodes):
    nodes.start('usage_a', TOPIC + '_usage')
    nodes.start('usage_b', TOPIC + '_usage')
    assert nodes.wait_talking(['usage_a', 'usage_b'])
    own = group_files(nodes.lock_files('usage_a') | nodes.lock_files('usage_b'))
    usage = shm_usage()
    assert usage.files >= len(own) and usage.bytes > 0
    assert usage.stale_files == -1
    checked = shm_usage(check_stale=True)
    assert 0 <= checked.stale_files <= checked.files
