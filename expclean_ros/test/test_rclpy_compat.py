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
The rclpy internals the node relies on (ros/rclpy_compat.py) still hold on the rclpy here.

When one of these fails after an rclpy upgrade, the node still runs, but it may
lose a first caller's reply or race at shutdown: check what changed in rclpy,
adapt ``expclean_ros/ros/rclpy_compat.py`` and widen its CHECKED_VERSIONS.
"""

import glob
import os
import threading
import time
import warnings

import pytest

pytest.importorskip('rclpy', reason='rclpy (ROS 2 wheels) not installed')

import rclpy  # noqa: E402
from rclpy.context import Context  # noqa: E402
from rclpy.executors import MultiThreadedExecutor  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402

from expclean_ros.ros import rclpy_compat  # noqa: E402

UPGRADE = ('rclpy {version} changed what expclean_ros/ros/rclpy_compat.py relies on: {what}. '
           'Adapt that module (only it uses rclpy internals), then widen CHECKED_VERSIONS.')


def _upgrade(what):
    return UPGRADE.format(version=rclpy_compat.rclpy_version(), what=what)


@pytest.fixture
def ros():
    """(context, node, executor spinning in a thread) on a private context."""
    context = Context()
    rclpy.init(context=context)
    node = rclpy.create_node('rclpy_compat_test', context=context)
    executor = MultiThreadedExecutor(num_threads=2, context=context)
    executor.add_node(node)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    try:
        yield context, node, executor
    finally:
        executor.shutdown()
        thread.join(5)
        node.destroy_node()
        rclpy.try_shutdown(context=context)


def test_the_installed_rclpy_is_a_checked_version():
    version = rclpy_compat.rclpy_version()
    assert version is not None, 'the rclpy version cannot be read from its package metadata'
    assert rclpy_compat.version_checked(version), _upgrade(
        f'version {version} is outside CHECKED_VERSIONS {rclpy_compat.CHECKED_VERSIONS}; '
        'run this test file against it and widen them if it passes')


def test_the_private_attributes_are_there(ros):
    _, _, executor = ros
    assert rclpy_compat.check(executor) == [], _upgrade('; '.join(rclpy_compat.check(executor)))


def test_the_executor_answers_through_the_replaced_send_response(ros):
    _, node, _ = ros
    sent = []

    def make(send):
        def recording(response, header):
            sent.append(response.message)
            return send(response, header)
        return recording

    def answer(request, response):
        response.success, response.message = True, 'answered'
        return response

    service = node.create_service(Trigger, '~/compat_probe', answer)
    rclpy_compat.replace_send_response(service, make)
    client = node.create_client(Trigger, '~/compat_probe')
    assert client.wait_for_service(timeout_sec=20)
    future = client.call_async(Trigger.Request())
    deadline = time.monotonic() + 20
    while not future.done() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert future.done() and future.result().message == 'answered'
    assert sent == ['answered'], _upgrade(
        'the executor no longer answers a request through srv.send_response, so the node '
        'cannot re-send a reply the middleware dropped')


def test_draining_waits_for_the_queued_callbacks(ros):
    _, _, executor = ros
    done = threading.Event()
    pool = getattr(executor, rclpy_compat.POOL_ATTRIBUTE, None)
    assert pool is not None, _upgrade(
        f'MultiThreadedExecutor has no {rclpy_compat.POOL_ATTRIBUTE}')
    pool.submit(lambda: (time.sleep(0.2), done.set()))
    rclpy_compat.drain_thread_pool(executor)
    assert done.is_set()


def test_the_timeout_texts_are_what_rclpy_and_rmw_say(ros):
    """The texts send_once tells an undelivered reply by are in rclpy's and rmw's code."""
    rclpy_dir = os.path.dirname(rclpy.__file__)
    extensions = glob.glob(os.path.join(rclpy_dir, '_rclpy_pybind11*.so'))
    assert extensions, _upgrade(f'no _rclpy_pybind11 extension in {rclpy_dir}')
    with open(extensions[0], 'rb') as f:
        assert rclpy_compat.SEND_TIMEOUT_WARNING.encode() in f.read(), _upgrade(
            f'its extension no longer says {rclpy_compat.SEND_TIMEOUT_WARNING!r}')
    with open('/proc/self/maps') as f:
        libraries = {line.split()[-1] for line in f if 'librmw_fastrtps_shared_cpp' in line}
    if not libraries:
        pytest.skip(f'rmw is not rmw_fastrtps here ({os.environ.get("RMW_IMPLEMENTATION")}): '
                    'the re-sending is for its reply timeout only')
    with open(sorted(libraries)[0], 'rb') as f:
        assert rclpy_compat.NOT_MATCHED.encode() in f.read(), (
            f'rmw_fastrtps no longer says {rclpy_compat.NOT_MATCHED!r} when a reply times out: '
            'adapt NOT_MATCHED in expclean_ros/ros/rclpy_compat.py')


def _warns(text):
    def send(response, header):
        warnings.warn(text, RuntimeWarning)
    return send


def _raises(text):
    def send(response, header):
        raise RuntimeError(text)
    return send


def test_send_once_tells_an_undelivered_reply_by_its_warning_or_error():
    timeout = 'failed to send response (timeout): client will not receive response'
    assert rclpy_compat.send_once(lambda response, header: None, None, None)
    assert not rclpy_compat.send_once(_warns(timeout), None, None)
    assert not rclpy_compat.send_once(_warns(timeout), None, None)  # every time, not once
    assert not rclpy_compat.send_once(_raises(f'failed to send response: {timeout}'), None, None)
    with pytest.raises(RuntimeError, match='something else'):
        rclpy_compat.send_once(_raises('something else'), None, None)
    with pytest.warns(RuntimeWarning, match='another warning'):
        assert rclpy_compat.send_once(_warns('another warning'), None, None)
