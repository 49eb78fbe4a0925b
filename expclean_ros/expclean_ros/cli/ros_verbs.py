"""Verbs that talk to cleanup nodes over ROS: call, between-runs, memory, teardown, nodes."""

import json
import math
import os
import time

from expclean_ros.cli.main import CliError

__all__ = ['add_arguments']

GIB = 1024 ** 3
MIB = 1024 ** 2


def _common(p):
    p.add_argument('--ns', default='', help="namespace of the cleanup node (e.g. '/robot1')")
    p.add_argument('--node', default='cleanup', help='node name (default: cleanup)')
    p.add_argument('--timeout', type=float, default=120.0,
                   help='seconds to wait for an answer (default: 120)')
    p.add_argument('--json', action='store_true', help='print JSON instead of text')


def add_arguments(sub):
    p = sub.add_parser('call', help='run a quick or comprehensive cleanup on a node',
                       description="e.g. 'expclean call comprehensive --all'")
    p.add_argument('plan', choices=('quick', 'comprehensive'))
    p.add_argument('--all', action='store_true',
                   help='call every cleanup node on the graph at once, one line per node')
    _common(p)
    p.set_defaults(func=call)

    p = sub.add_parser('between-runs', help="the seed's cleanup_between_runs(I, N) on a node",
                       description="e.g. 'expclean between-runs 3 10 --quick'")
    p.add_argument('run_index', type=int, help='0-based index of the run that just ended')
    p.add_argument('total_runs', type=int, help='number of runs in the batch')
    p.add_argument('--quick', action='store_true', help='quick instead of comprehensive')
    p.add_argument('--wait', type=float, default=-1.0,
                   help='fixed wait in seconds (default: settle, capped automatically)')
    _common(p)
    p.set_defaults(func=between_runs)

    p = sub.add_parser('memory', help='RAM, swap, GPU and DDS shared memory of a node')
    p.add_argument('--watch', action='store_true', help='repeat until Ctrl-C')
    p.add_argument('--interval', type=float, default=1.0, help='seconds between readings')
    p.add_argument('--count', type=int, default=0, help='with --watch: stop after N readings')
    _common(p)
    p.set_defaults(func=memory)

    p = sub.add_parser('teardown', help='stop the processes of a run through a node',
                       description="e.g. 'expclean teardown --tag run-7 --dry-run'")
    p.add_argument('--tag', default='',
                   help="run tag to stop (e.g. 'run-0123...'; the variable is the node's)")
    p.add_argument('--pid', type=int, default=0,
                   help='stop this process and its tree (its start time is sent along, so a '
                        'reused pid is refused)')
    p.add_argument('--pattern', action='append', default=[],
                   help="regular expression on command lines (repeatable), e.g. 'ros2 bag play'")
    p.add_argument('--dry-run', action='store_true', help='list what would be stopped')
    _common(p)
    p.set_defaults(func=teardown)

    p = sub.add_parser('nodes', help='list every cleanup node on the graph')
    p.add_argument('--wait', type=float, default=2.0, help='seconds to discover nodes')
    p.add_argument('--json', action='store_true', help='print JSON instead of text')
    p.set_defaults(func=nodes)


_INT32_MAX = 2 ** 31 - 1
_UINT32_MAX = 2 ** 32 - 1


def _check_args(args):
    """Refuse values the request fields cannot carry, before anything is sent."""
    timeout = getattr(args, 'timeout', None)
    if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
        raise CliError(f'--timeout must be a number of seconds greater than zero, got {timeout}')
    for name in ('run_index', 'total_runs'):
        value = getattr(args, name, None)
        if value is not None and not 0 <= value <= _INT32_MAX:
            raise CliError(f'{name} must be between 0 and {_INT32_MAX}, got {value}')
    pid = getattr(args, 'pid', 0)
    if pid and not 1 < pid <= _UINT32_MAX:
        raise CliError(f'--pid must be a process id greater than 1, got {pid}')


def _prefix(args):
    ns = args.ns.strip('/')
    return f'/{ns}/{args.node}' if ns else f'/{args.node}'


def _client():
    from expclean_ros.client import CleanupClient
    return CleanupClient(name='expclean_cli')


def _check(client_error_or_response):
    from expclean_ros.client import ClientError
    if isinstance(client_error_or_response, ClientError):
        raise CliError(str(client_error_or_response))
    return client_error_or_response


def call(args):
    _check_args(args)
    from std_srvs.srv import Trigger

    from expclean_ros.client import ClientError
    with _client() as client:
        if args.all:
            prefixes = client.find_cleanup_nodes(timeout_s=2.0)
            if not prefixes:
                raise CliError('no cleanup node found on the graph within 2 s '
                               '(same ROS_DOMAIN_ID? node started?)')
        else:
            prefixes = [_prefix(args)]
        answers = client.call_many(Trigger, [f'{p}/{args.plan}' for p in prefixes],
                                   Trigger.Request, timeout_s=args.timeout)
    ok = True
    rows = []
    for prefix in prefixes:
        answer = answers[f'{prefix}/{args.plan}']
        if isinstance(answer, ClientError):
            if not args.all:
                raise CliError(str(answer))
            success, message = False, f'error: {answer}'
        else:
            success, message = answer.success, answer.message
        ok = ok and success
        rows.append({'node': prefix, 'success': success, 'message': message})
    for row in rows:
        if args.json:
            print(json.dumps(row))
        else:
            print(f"{row['node']}: {row['message']}" if args.all else row['message'])
    return 0 if ok else 1


def between_runs(args):
    _check_args(args)
    from expclean_interfaces.srv import CleanupBetweenRuns
    request = CleanupBetweenRuns.Request(
        run_index=args.run_index, total_runs=args.total_runs,
        comprehensive=not args.quick, wait_time_s=args.wait, verbose=True,
        caller_pid=os.getpid())
    with _client() as client:
        response = _call(client, CleanupBetweenRuns, f'{_prefix(args)}/between_runs',
                         request, args)
    if args.json:
        print(json.dumps({'success': response.success, 'skipped': response.skipped,
                          'message': response.message}))
    else:
        print(response.message)
    return 0 if response.success else 1


def _call(client, srv_type, name, request, args):
    from expclean_ros.client import ClientError
    try:
        return client.call(srv_type, name, request, timeout_s=args.timeout)
    except ClientError as exc:
        raise CliError(str(exc)) from None


def memory_dict(msg):
    """MemoryUsage -> plain dict (for --json and tests)."""
    return {
        'hostname': msg.hostname,
        'ram': {'total_bytes': msg.ram_total_bytes, 'used_bytes': msg.ram_used_bytes,
                'available_bytes': msg.ram_available_bytes, 'percent': round(msg.ram_percent, 1)},
        'swap': {'total_bytes': msg.swap_total_bytes, 'used_bytes': msg.swap_used_bytes,
                 'percent': round(msg.swap_percent, 1)},
        'gpus': [{'index': g.index, 'name': g.name, 'uuid': g.uuid, 'used_bytes': g.used_bytes,
                  'total_bytes': g.total_bytes,
                  'processes': [{'pid': p.pid, 'used_bytes': p.used_bytes}
                                for p in g.processes]} for g in msg.gpus],
        'gpu_status': msg.gpu_status,
        'dds_shm': {'files': msg.dds_shm_files, 'bytes': msg.dds_shm_bytes},
    }


def memory_table(msg):
    """MemoryUsage -> a readable table."""
    lines = [f'{msg.hostname}:',
             f'  RAM      {msg.ram_used_bytes / GIB:6.1f} / {msg.ram_total_bytes / GIB:.1f} GiB'
             f'  ({msg.ram_percent:.1f} %, {msg.ram_available_bytes / GIB:.1f} GiB available)',
             f'  swap     {msg.swap_used_bytes / GIB:6.1f} / {msg.swap_total_bytes / GIB:.1f} GiB']
    for g in msg.gpus:
        lines.append(f'  GPU{g.index}     {g.used_bytes / GIB:6.1f} / '
                     f'{g.total_bytes / GIB:.1f} GiB'
                     f'  {g.name}, {len(g.processes)} processes')
    if not msg.gpus:
        lines.append(f'  GPU      none: {msg.gpu_status or "no GPU"}')
    lines.append(f'  DDS shm  {msg.dds_shm_files} files, {msg.dds_shm_bytes / MIB:.1f} MiB')
    return '\n'.join(lines)


def memory(args):
    _check_args(args)
    from expclean_interfaces.srv import GetMemoryUsage
    if args.interval <= 0:
        raise CliError('--interval must be greater than zero')
    shown = 0
    with _client() as client:
        while True:
            response = _call(client, GetMemoryUsage, f'{_prefix(args)}/get_memory',
                             GetMemoryUsage.Request(), args)
            if not response.success:
                raise CliError(response.message)
            print(json.dumps(memory_dict(response.memory)) if args.json
                  else memory_table(response.memory))
            shown += 1
            if not args.watch or (args.count and shown >= args.count):
                return 0
            time.sleep(args.interval)


def _start_time(pid):
    """``pid``'s start time (field 22 of /proc/PID/stat), which the node checks.

    A launcher that has exited is still reachable through the processes left in
    its session or process group: then the oldest of them bounds its start time.
    """
    from expclean_ros.core import proctable
    root = proctable.read_proc(pid)
    if root is not None:
        return root.start_ticks
    left = [p.start_ticks for p in proctable.snapshot().values()
            if pid in (p.sid, p.pgid) and not p.zombie]
    if not left:
        raise CliError(f'--pid {pid}: no such process on this machine (and none left in its '
                       f'session or process group)')
    return min(left)


def teardown(args):
    _check_args(args)
    from expclean_interfaces.srv import Teardown
    if not (args.tag or args.pid or args.pattern):
        raise CliError('give a selection: --tag, --pid or --pattern '
                       '(expclean never stops everything)')
    start_time = _start_time(args.pid) if args.pid else 0
    request = Teardown.Request(run_tag=args.tag, root_pid=args.pid, root_start_time=start_time,
                               patterns=args.pattern, dry_run=args.dry_run,
                               caller_pid=os.getpid())
    with _client() as client:
        response = _call(client, Teardown, f'{_prefix(args)}/teardown', request, args)
    if args.json:
        print(json.dumps({
            'success': response.success, 'message': response.message,
            'stopped': response.stopped, 'left': response.left, 'mechanism': response.mechanism,
            'processes': [{'pid': p.pid, 'name': p.name, 'cmdline': p.cmdline,
                           'reason': p.reason, 'stage': p.stage, 'detail': p.detail}
                          for p in response.processes]}))
    else:
        print(response.message)
        for p in response.processes:
            print(f'  {p.pid:>7}  {p.stage:<10} {p.name:<16} {p.reason}'
                  + (f' ({p.detail})' if p.detail else ''))
    return 0 if response.success else 1


def nodes(args):
    with _client() as client:
        found = client.find_cleanup_nodes(timeout_s=args.wait)
    if args.json:
        print(json.dumps(found))
    else:
        for prefix in found:
            print(prefix)
        if not found:
            raise CliError(f'no cleanup node found on the graph within {args.wait:g} s')
    return 0
