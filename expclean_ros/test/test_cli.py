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

"""The real ``expclean`` command against real nodes: output, exit codes and errors."""

import json
import os
import subprocess
import sys

import pytest

from helpers.nodes import hook_args, ros_env, wait_execed, wait_for_path

pytest.importorskip('rclpy', reason='rclpy (ROS 2 wheels) not installed')

EXPCLEAN = os.path.join(os.path.dirname(sys.executable), 'expclean')


def expclean(*args, timeout=120):
    return subprocess.run([EXPCLEAN, *args], env=ros_env(), capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def test_call_quick_from_another_process(start_node):
    start_node()
    proc = expclean('call', 'quick')
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith('quick ok in '), proc.stdout


def test_all_calls_every_node_in_every_namespace(start_node):
    start_node('--ros-args', '-r', '__ns:=/robot1')
    start_node('--ros-args', '-r', '__ns:=/robot2')
    # --expect: discovery ends once both are seen and the graph is quiet (a loaded machine
    # can announce a node late; the limit only turns a hang into a failure)
    proc = expclean('nodes', '--expect', '2', '--wait', '60')
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ['/robot1/cleanup', '/robot2/cleanup']
    proc = expclean('call', 'quick', '--all', '--expect', '2', '--wait', '60')
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [line.split(':')[0] for line in lines] == ['/robot1/cleanup', '/robot2/cleanup']
    assert all(': answered: quick ok in ' in line for line in lines), lines
    proc = expclean('memory', '/robot2/cleanup', '--json')
    assert proc.returncode == 0 and json.loads(proc.stdout)['ram']['total_bytes'] > 0


def test_memory_table_and_json(start_node):
    start_node()
    text = expclean('memory')
    assert text.returncode == 0, text.stderr
    assert 'RAM' in text.stdout and 'GPU' in text.stdout and 'DDS shm' in text.stdout
    js = expclean('memory', '--json', '--watch', '--count', '2', '--interval', '0.1')
    assert js.returncode == 0, js.stderr
    readings = [json.loads(line) for line in js.stdout.splitlines()]
    assert len(readings) == 2 and readings[0]['ram']['total_bytes'] > 0


def test_no_node_is_a_clear_error_not_a_hang():
    proc = expclean('call', '/nobody_here/cleanup', 'quick', timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.startswith('expclean: error: no service /nobody_here/cleanup/quick')
    assert 'Cleanup nodes seen: none' in proc.stderr, proc.stderr
    assert ' -r __ns:=/nobody_here' in proc.stderr or 'namespace:=/nobody_here' in proc.stderr
    proc = expclean('nodes', '--wait', '1', timeout=60)
    assert proc.returncode == 1 and 'no cleanup node found' in proc.stderr
    assert 'start one with: ' in proc.stderr, proc.stderr


def test_a_missing_node_error_names_the_nodes_seen(start_node):
    node = start_node('--ros-args', '-r', '__ns:=/robot2')
    found = expclean('nodes', '--expect', '1', '--wait', '60', timeout=120)
    assert found.returncode == 0 and '/robot2/cleanup' in found.stdout, found.stderr
    proc = expclean('call', '/robot1/cleanup', 'quick', timeout=60)
    assert proc.returncode == 1, proc.stdout
    assert 'Cleanup nodes seen: /robot2/cleanup;' in proc.stderr, proc.stderr
    assert 'start /robot1/cleanup with: ' in proc.stderr
    # the command it names starts that node: a real cleanup_node takes the same remaps
    hint = proc.stderr.rsplit('with: ', 1)[1].strip()
    if hint.startswith('make run ARGS='):
        args = hint[len('make run ARGS="'):-1].split()
    elif hint.startswith('cleanup_node'):
        args = hint.split()[1:]
    else:
        args = None  # ros2 launch: tested with the launch files
    if args is not None:
        start_node(*args)
        again = expclean('call', '/robot1/cleanup', 'quick', timeout=120)
        assert again.returncode == 0 and again.stdout.startswith('quick ok'), again.stderr
    node.close()


def test_teardown_needs_a_selection():
    proc = expclean('teardown', '--dry-run', timeout=60)
    assert proc.returncode == 1
    assert 'give a selection' in proc.stderr


def test_between_runs_refusal_exits_one(start_node):
    start_node()
    proc = expclean('between-runs', '5', '5')
    assert proc.returncode == 1
    assert proc.stdout.startswith('refused:') and 'run_index' in proc.stdout


def test_teardown_by_pattern_spares_the_cli_that_asked(start_node, tmp_path):
    """The CLI's own command line holds the pattern; it must not be stopped with the decoy."""
    start_node('--ros-args', '-p', 'teardown.allow_request_patterns:=true')
    import signal
    script = tmp_path / 'victim_xyz_target.py'
    script.write_text('import time\ntime.sleep(60)\n')
    victim = subprocess.Popen([sys.executable, str(script)], env=ros_env(),
                              stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        assert wait_execed(victim.pid, 'victim_xyz_target'), 'the victim never ran'
        proc = expclean('teardown', '--pattern', 'victim_xyz_target')
        assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr)
        assert 'stopped 1 process (0 left)' in proc.stdout, proc.stdout
        assert victim.wait(10) == -signal.SIGINT
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.wait(5)


def test_teardown_by_pid_and_by_tag(start_node):
    """--pid sends the root's start time along; --tag takes run tags as expclean makes them."""
    import signal
    from expclean_ros.core.runs.tagged_start import new_run_id
    start_node()
    tag = new_run_id()
    sleeper = [sys.executable, '-S', '-c', 'import time; time.sleep(60)']
    root = subprocess.Popen(sleeper, stdin=subprocess.DEVNULL, start_new_session=True)
    tagged = subprocess.Popen(sleeper, env=dict(os.environ, EXPCLEAN_RUN_ID=tag),
                              stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        assert wait_execed(tagged.pid, 'time.sleep(60)'), 'the tagged sleeper never ran'
        proc = expclean('teardown', '--pid', str(root.pid))
        assert proc.returncode == 0 and 'stopped 1 process (0 left)' in proc.stdout, proc
        assert root.wait(10) == -signal.SIGINT
        proc = expclean('teardown', '--tag', 'my-own-tag')
        assert proc.returncode == 1 and 'does not look like a run tag' in proc.stdout, proc
        assert tagged.poll() is None
        proc = expclean('teardown', '--tag', tag)
        assert proc.returncode == 0 and 'stopped 1 process (0 left)' in proc.stdout, proc
        assert tagged.wait(10) == -signal.SIGINT
    finally:
        for p in (root, tagged):
            if p.poll() is None:
                p.kill()
            p.wait(5)


@pytest.mark.parametrize('args,rule', [
    (('between-runs', '0', '4294967297'), 'total_runs must be between 0 and'),
    (('between-runs', '-1', '3'), 'run_index must be between 0 and'),
    (('teardown', '--pid', '-1'), '--pid must be a process id'),
    (('call', 'quick', '--timeout', '0'), '--timeout must be a number of seconds'),
    (('memory', '--timeout', 'nan'), '--timeout must be a number of seconds'),
])
def test_values_the_request_cannot_carry_are_refused(args, rule):
    proc = expclean(*args, timeout=60)
    assert proc.returncode == 1 and proc.stderr.startswith('expclean: error: '), proc.stderr
    assert rule in proc.stderr


def test_ctrl_c_ends_a_waiting_call_at_once(start_node, tmp_path):
    """Ctrl-C ends the CLI while the node still runs its call (a 600 s wait): exit 130."""
    import signal
    started = tmp_path / 'started'
    start_node('--ros-args', *hook_args(f'touch {started}'))
    cli = subprocess.Popen([EXPCLEAN, 'between-runs', '0', '3', '--wait', '600'], env=ros_env(),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    try:
        assert wait_for_path(started), 'the call never reached the node'
        assert cli.poll() is None, cli.communicate()
        cli.send_signal(signal.SIGINT)
        # Only a CLI that stopped waiting exits: one that waited for the answer would run
        # for ten minutes, far past this limit.
        assert cli.wait(60) == 130, cli.communicate()
    finally:
        if cli.poll() is None:
            cli.kill()  # by PID: our own child
            cli.wait(10)


@pytest.mark.parametrize('args,rule', [
    (('call', 'robot 1/cleanup', 'quick'), "'robot 1/cleanup' is not a node name"),
    (('memory', '/1robot/cleanup'), 'is not a node name'),
    (('nodes', '--expect', '-1'), '--expect must be a number of nodes'),
])
def test_node_names_are_checked_before_anything_is_sent(args, rule):
    proc = expclean(*args, timeout=60)
    assert proc.returncode == 1 and proc.stderr.startswith('expclean: error: '), proc.stderr
    assert rule in proc.stderr


@pytest.mark.parametrize('domain,rule', [
    ('abc', 'RCLError: failed to initialize rcl: ROS_DOMAIN_ID is not an integral number'),
    ('999', 'ROS_DOMAIN_ID must be between 0 and 232, got 999'),
])
def test_an_rcl_error_is_one_line_not_a_traceback(domain, rule):
    proc = subprocess.run([EXPCLEAN, 'nodes', '--wait', '1'], env=ros_env(ROS_DOMAIN_ID=domain),
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1
    assert 'Traceback' not in proc.stderr
    assert f'expclean: error: {rule}' in proc.stderr, proc.stderr


def test_a_reader_that_goes_away_ends_the_watch_quietly(start_node):
    """``expclean memory --watch | head -n 1``: no 'Broken pipe' error, the SIGPIPE status."""
    start_node()
    pipeline = (f'set -o pipefail; {EXPCLEAN} memory --json --watch --interval 0.05 '
                '| head -n 1')
    proc = subprocess.run(['bash', '-c', pipeline], env=ros_env(), capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.stderr == ''
    assert json.loads(proc.stdout)['ram']['total_bytes'] > 0
    assert proc.returncode == 141  # 128 + SIGPIPE, as for any tool whose reader went away


def test_native_console_output_goes_to_stderr_and_stdout_stays_ours():
    # What Fast DDS does on an error (std::cout, descriptor 1), after a ROS verb's set-up.
    code = ('import os; from expclean_ros.cli.main import own_stdout; own_stdout(); own_stdout(); '
            'os.write(1, b"RTPS_TRANSPORT_SHM Error\\n"); print(\'{"ok": 1}\')')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {'ok': 1}
    assert proc.stderr == 'RTPS_TRANSPORT_SHM Error\n'
