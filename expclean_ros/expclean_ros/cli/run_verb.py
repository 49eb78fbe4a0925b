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

"""``expclean run``: a table of experiment runs with verified cleanup between them."""

import argparse
import dataclasses
import json
import shlex
import sys
import time

from expclean_ros.cli.main import CliError
from expclean_ros.core.procs.escalation import StopTimeouts, stop_timeouts_text
from expclean_ros.core.runs.disturbance import Thresholds
from expclean_ros.core.runs.record_parts import VerifyRecord
from expclean_ros.core.runs.run_record import RunRecord
from expclean_ros.core.units import GIB, clock as _fmt_s

__all__ = ['add_arguments', 'run', 'summary_lines', 'Progress', 'resume_command']


class _CommandAfterDashes(argparse.ArgumentParser):
    """
    Takes everything after the first ``--`` as the command template.

    Plain argparse gives an optional-length positional its (empty) share as
    soon as the table is read, and then rejects ``-- CMD...`` (fixed only in
    Python 3.12+), so the split happens before parsing.
    """

    def parse_known_args(self, args=None, namespace=None):
        args = list(sys.argv[1:] if args is None else args)
        command = []
        if '--' in args:
            cut = args.index('--')
            args, command = args[:cut], args[cut + 1:]
        namespace, extras = super().parse_known_args(args, namespace)
        namespace.command = command
        return namespace, extras


def add_arguments(sub):
    p = sub.add_parser(
        'run', help='run a table of experiment runs with verified cleanup between them',
        description="e.g. 'expclean run runs.csv --ledger runs.jsonl --timeout 600 -- "
                    "ros2 launch my_pkg exp.launch.py bag:={bag} model:={model}'")
    p.add_argument('table',
                   help='runs table: .csv with a header line, or .yaml (list of mappings)')
    p.add_argument('--ledger', required=True,
                   help='JSON-lines ledger, one line per run (e.g. runs.jsonl)')
    p.add_argument('--resume', action='store_true',
                   help='continue a ledger: skip finished runs, redo an interrupted one')
    p.add_argument('--timeout', type=float, default=None,
                   help='per-run limit in seconds; a run past it is torn down (default: none)')
    p.add_argument('--quick', action='store_true', help='quick instead of comprehensive cleanup')
    p.add_argument('--wait', type=float, default=None,
                   help='fixed wait after each cleanup, seconds (default: settle, capped)')
    p.add_argument('--no-cleanup', action='store_true',
                   help='only tear down each run, no cleanup plan between runs')
    p.add_argument('--via-service', action='store_true',
                   help="clean up by calling a running cleanup node's ~/between_runs")
    p.add_argument('--node', action='append', default=None, metavar='NODE',
                   help="with --via-service: full name of a cleanup node, repeatable, one per "
                        "host (e.g. --node /robot1/cleanup --node /gpu1/cleanup; default: "
                        "/cleanup); each tears the run's tag down on its host")
    p.add_argument('--all', action='store_true',
                   help='with --via-service: every cleanup node on the graph (found once, '
                        'before the first run)')
    p.add_argument('--expect', type=int, default=0, metavar='N',
                   help='with --all: fail before the first run unless N nodes are found')
    p.add_argument('--on-no-answer', choices=('go-on', 'stop'), default='go-on',
                   help='when a node does not answer after a run: record NO ANSWER and go on '
                        '(default), or stop the batch after recording it')
    p.add_argument('--service-timeout', type=float, default=120.0,
                   help='seconds to wait for the node to answer (default: 120)')
    p.add_argument('--log-dir', default=None,
                   help="write each run's output to DIR/run-NNN.log (default: this terminal)")
    p.add_argument('--stop-timeouts', default=stop_timeouts_text(), metavar='INT,TERM,KILL',
                   help='teardown waits after SIGINT, SIGTERM, SIGKILL (default: %(default)s)')
    p.add_argument('--no-cgroup', action='store_true', help='select runs by tag only')
    p.add_argument('--shard', default=None, metavar='K/N',
                   help='run rows K, K+N, K+2N, ... only (0 <= K < N), with a ledger of its '
                        'own, e.g. --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT')
    p.add_argument('--keep-daemon', action='store_true',
                   help='leave the ROS 2 daemon as it is (default: restart it, through '
                        "ros2cli's API, when it still lists a torn-down run's nodes)")
    p.add_argument('--shared-ros-logs', action='store_true',
                   help='let runs write ROS logs to ~/.ros/log (default: each run its own '
                        'ROS_LOG_DIR beside its log, or next to the ledger)')
    p.add_argument('--keep-shm', action='store_true',
                   help="leave what a run left in /dev/shm (default: remove the files it "
                        "created that nobody holds)")
    p.add_argument('--disturbed-stall-share', type=float, default=Thresholds.stall_share,
                   metavar='SHARE',
                   help='flag a run disturbed when some task stalled on cpu, io or memory '
                        'for more than this share of its time (default: %(default)s)')
    p.add_argument('--disturbed-foreign-cpu', type=float, default=Thresholds.foreign_cpu,
                   metavar='CORES',
                   help='... or when processes outside it used more than this many cores '
                        'on average (default: %(default)s)')
    p.add_argument('--quiet-start', type=float, default=None, metavar='S',
                   help='before each run wait up to S seconds until the pressure and the CPU '
                        'use of other processes are under the thresholds above (default: '
                        'start at once; other users\' jobs may never stop)')
    p.add_argument('--metric', action='append', default=[], metavar='NAME=REGEX',
                   help="a run's figure: the first group of REGEX's last match in its output")
    p.add_argument('--json', action='store_true', help='print the summary as JSON lines')
    p.set_defaults(func=run, command=[])
    p.usage = '%(prog)s TABLE --ledger LEDGER [options] -- COMMAND TEMPLATE...'
    p.epilog = ("COMMAND TEMPLATE: the command after '--', with fields filled from each row: "
                "{column}, {run_index} (0-based), {run_number} (1-based). Exit status: 0 all "
                "runs exited 0, 3 some did not, 1 bad input.")
    p.__class__ = _CommandAfterDashes  # add_parser cannot choose the class of one parser


def _timeouts(text):
    try:
        return StopTimeouts.parse(text)
    except ValueError:
        raise CliError(f'--stop-timeouts must be three seconds >= 0 like '
                       f'{stop_timeouts_text()}, got {text!r}') from None


class Progress:
    """A plain progress line on stderr: run N/M, elapsed, ETA from the runs done so far."""

    def __init__(self, total, stream=None):
        self.total = total
        self.stream = stream or sys.stderr
        self.start = time.monotonic()
        self.done = 0

    def on_start(self, index, position, count):
        elapsed = time.monotonic() - self.start
        eta = (f'ETA {_fmt_s(elapsed / position * (count - position))}' if position
               else 'ETA --:--:--')
        self.stream.write(f'[{position + 1}/{count}] run {index + 1} of {self.total} started; '
                          f'elapsed {_fmt_s(elapsed)}, {eta}\n')
        self.stream.flush()

    def on_finish(self, record, position, count):
        self.done += 1
        r = RunRecord.from_dict(record)
        self.stream.write(f'[{position + 1}/{count}] run {r.index + 1}: {r.status} ({r.detail}) '
                          f'in {r.duration_s:.1f} s + {r.overhead_s:.2f} s between runs'
                          f'{_disturbed_note(record)}\n')
        self.stream.flush()


def resume_command(argv):
    """
    Return the ``expclean run`` command line ``argv`` with ``--resume``, to continue its batch.

    >>> resume_command(['run', 't.csv', '--ledger', 'l.jsonl', '--', 'sleep', '{secs}'])
    "expclean run t.csv --ledger l.jsonl --resume -- sleep '{secs}'"
    """
    argv = list(argv)
    cut = argv.index('--') if '--' in argv else len(argv)
    if '--resume' not in argv[:cut]:
        argv.insert(cut, '--resume')
    return ' '.join(['expclean'] + [shlex.quote(a) for a in argv])


def _shm_freed(r):
    data = r.shm.data if r.shm is not None else None
    return f'{((data or {}).get("bytes") or 0) / 2**20:7.1f}' if r.shm is not None \
        else f'{"-":>7}'


def _gib(reading):
    used = reading.ram_used_bytes if reading is not None else None
    return f'{used / GIB:7.2f} GiB' if used is not None else f'{"-":>11}'


def _disturbed(r):
    seen = r.get('disturbance')
    return '-' if not seen else ('yes' if seen['disturbed'] else 'no')


def _disturbed_note(r):
    seen = r.get('disturbance')
    return f'; disturbed: {seen["cause"]}' if seen and seen['disturbed'] else ''


def summary_lines(records):
    """Return a readable table of finished runs; below it, what kept each run not back, named."""
    lines = [f'{"run":>4}  {"status":<9} {"exit":>5} {"time s":>8} {"between s":>9}'
             f'{"RAM before":>11} {"RAM after":>10} {"stopped":>7} {"left":>4} '
             f'{"shm MiB":>7} {"back":>8} {"disturbed":>9}']
    notes = []
    for raw in records:
        r = RunRecord.from_dict(raw)
        stopped = r.teardown.stopped if r.teardown is not None else None
        code = '-' if r.exit_code is None else r.exit_code
        lines.append(f'{r.index + 1:>4}  {r.status:<9} {code:>5} '
                     f'{r.duration_s:8.1f} {r.overhead_s:8.2f} '
                     f'{_gib(r.reading("before"))} {_gib(r.reading("after"))} '
                     f'{stopped or 0:>7} {r.left:>4} '
                     f'{_shm_freed(r)} {r.back.text(dash="-", short=True):>8} '
                     f'{_disturbed(raw):>9}')
        elsewhere = (raw.get('verify') or {}).get('elsewhere')
        if r.back.back is False:
            notes.append(f'run {r.index + 1}: {r.back.why}')
        elif elsewhere and r.verify is not None and r.verify.line:
            notes.append(f'run {r.index + 1}: {r.verify.line}')
        if _disturbed_note(raw):
            notes.append(f'run {r.index + 1}{_disturbed_note(raw)}')
    return lines + notes


def _ghost_watch(run_id):
    """Return the daemon's node list before a run, restarted after it when it lists ghosts."""
    from expclean_ros.ros.ghosts import GhostWatch
    return GhostWatch()


def run(args):
    from expclean_ros.cli.hosts import check_nodes, on_finish, service_cleanup
    from expclean_ros.core.runs import records, sequencer
    from expclean_ros.core.runs.figures import parse_metric
    from expclean_ros.core.runs.options import STATUS_OK, SequencerOptions
    from expclean_ros.core.runs.run_table import load_table
    from expclean_ros.core.runs.shards import parse_shard, shard_rows

    template = list(args.command)
    if not template:
        raise CliError('no command: give the command template after "--", e.g. '
                       '-- ros2 launch my_pkg exp.launch.py bag:={bag}')
    if args.wait is not None and args.wait < 0:
        raise CliError(f'--wait must be zero or more seconds, got {args.wait:g}')
    sigint, sigterm, sigkill = _timeouts(args.stop_timeouts)
    steps = () if args.keep_daemon else (_ghost_watch,)
    check_nodes(args)
    shard = None if args.shard is None else parse_shard(args.shard)
    try:
        table = load_table(args.table)
    except FileNotFoundError:
        raise CliError(f'no runs table {args.table}: give the path of a .csv or .yaml file, '
                       'one run a row') from None
    shard_rows(len(table), shard)  # a shard with no rows: refused before anything starts
    options = SequencerOptions(
        timeout_s=args.timeout, sigint_timeout_s=sigint, sigterm_timeout_s=sigterm,
        sigkill_timeout_s=sigkill, use_cgroup=not args.no_cgroup, log_dir=args.log_dir,
        shm_cleanup=not args.keep_shm, end_steps=steps, ros_logs=not args.shared_ros_logs,
        disturbed_stall_share=args.disturbed_stall_share,
        disturbed_foreign_cpu=args.disturbed_foreign_cpu, quiet_start_s=args.quiet_start,
        metrics=tuple(parse_metric(text) for text in args.metric))  # bad: ValueError
    comprehensive = not args.quick
    progress = Progress(len(table))
    client = None
    try:
        if args.no_cleanup:
            cleanup = records.no_cleanup
        elif args.via_service:
            client, cleanup = service_cleanup(args, comprehensive)
            options = dataclasses.replace(  # the run's tag stopped on every node, after ours
                options, end_steps=options.end_steps + (cleanup.teardown_step,))
        else:
            cleanup = records.in_process_cleanup(comprehensive, args.wait)
        result = sequencer.run_batch(table, template, args.ledger, options, resume=args.resume,
                                     cleanup=cleanup, shard=shard, on_start=progress.on_start,
                                     on_finish=on_finish(progress, args.on_no_answer))
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the run was stopped; say how to go on
        print(f'interrupted ({progress.done} runs finished by this command); continue with:\n'
              f'  {resume_command(sys.argv[1:])}', file=sys.stderr)
        raise
    finally:
        if client is not None:
            client.close()
    if result.skipped:
        print(f'resumed: {len(result.skipped)} runs already finished, '
              f'{len(result.recovered)} interrupted run(s) torn down', file=sys.stderr)
    if args.json:
        for raw in result.all_records:
            r = RunRecord.from_dict(raw)
            checked = r.verify or VerifyRecord()
            print(json.dumps({'index': r.index, 'run_id': r.run_id, 'status': r.status,
                              'exit_code': r.exit_code, 'duration_s': r.duration_s,
                              'overhead_s': r.overhead_s, 'clean': checked.clean,
                              'excess_bytes': checked.excess_bytes, 'figures': r.figures,
                              'elsewhere': (raw.get('verify') or {}).get('elsewhere'),
                              'disturbed': (raw.get('disturbance') or {}).get('disturbed')}))
    else:
        for line in summary_lines(result.all_records):
            print(line)
        print(f'ledger: {result.ledger_path}')
    failed = [r for r in result.all_records if r['status'] != STATUS_OK]
    return 0 if not failed else 3
