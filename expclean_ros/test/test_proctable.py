"""Reading one variable from /proc/PID/environ, on real processes."""

import os
import subprocess

from expclean_ros.core.procs import proctable


def _sleeper(env):
    return subprocess.Popen(['sleep', '30'], env=env, stdin=subprocess.DEVNULL,
                            start_new_session=True)


def test_environ_states_of_real_processes():
    tagged = _sleeper({'EXPCLEAN_RUN_ID': 'run-x', 'PATH': os.environ['PATH']})
    empty = _sleeper({})  # an empty environment reads like a process in mid-execve
    try:
        assert proctable.read_environ_var(tagged.pid, 'EXPCLEAN_RUN_ID') == ('ok', 'run-x')
        assert proctable.read_environ_var(tagged.pid, 'ROS_DOMAIN_ID') == ('unset', None)
        assert proctable.read_environ_var(empty.pid, 'EXPCLEAN_RUN_ID') == ('empty', None)
    finally:
        for p in (tagged, empty):
            p.kill()  # by PID: our own children
            p.wait(5)
    assert proctable.read_environ_var(tagged.pid, 'EXPCLEAN_RUN_ID') == ('gone', None)
