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
A real single-host Slurm for tests.

munged, slurmctld and slurmd of our own, on ports, sockets and folders of our own under a temp
folder; every daemon stopped by its pid.

    with Slurm(tmp_path) as slurm:
        slurm.run(['sbatch', '--array=0-2', '--wait', '--wrap', 'hostname'])
"""

import os
import shutil
import socket
import subprocess
import time

__all__ = ['Slurm', 'skip_reason']

DAEMONS = ('munged', 'slurmctld', 'slurmd', 'sbatch', 'scontrol', 'sinfo')


def skip_reason():
    """Why a real Slurm cannot run here, or None."""
    missing = [d for d in DAEMONS if shutil.which(d) is None]
    if missing:
        return (f'no {", ".join(missing)}: Debian packages slurm-wlm and munge (make setup '
                f'installs them when run as root with apt)')
    if os.geteuid() != 0:
        return 'the single-host Slurm runs its daemons as root'
    return None


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _conf(root, host, munge_socket):
    ports = (_free_port(), _free_port())
    lines = [
        f'ClusterName=expc{os.getpid()}', f'SlurmctldHost={host}',
        f'SlurmctldPort={ports[0]}', f'SlurmdPort={ports[1]}',
        'AuthType=auth/munge', 'CredType=cred/munge', f'AuthInfo=socket={munge_socket}',
        'ProctrackType=proctrack/linuxproc', 'TaskPlugin=task/none',
        'SelectType=select/cons_tres', 'SelectTypeParameters=CR_Core',
        'SchedulerType=sched/builtin', 'SlurmUser=root', 'ReturnToService=2',
        'MpiDefault=none', 'JobAcctGatherType=jobacct_gather/none',
        'AccountingStorageType=accounting_storage/none',
        f'StateSaveLocation={root}/state', f'SlurmdSpoolDir={root}/spool',
        f'SlurmctldPidFile={root}/slurmctld.pid', f'SlurmdPidFile={root}/slurmd.pid',
        f'SlurmctldLogFile={root}/slurmctld.log', f'SlurmdLogFile={root}/slurmd.log',
        f'NodeName={host} CPUs={os.cpu_count() or 1} State=UNKNOWN',
        f'PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP',
    ]
    return '\n'.join(lines) + '\n'


class Slurm:
    """Our own munged + slurmctld + slurmd; ``env`` points clients (sbatch) at them."""

    def __init__(self, root):
        self.root = str(root)
        for sub in ('state', 'spool', 'munge'):
            os.makedirs(os.path.join(self.root, sub), exist_ok=True)
        os.chmod(os.path.join(self.root, 'munge'), 0o700)
        self.munge_socket = os.path.join(self.root, 'munge', 'munge.socket')
        key = os.path.join(self.root, 'munge', 'munge.key')
        with open(key, 'wb') as f:
            f.write(os.urandom(1024))
        os.chmod(key, 0o400)
        self.conf = os.path.join(self.root, 'slurm.conf')
        with open(self.conf, 'w') as f:
            f.write(_conf(self.root, socket.gethostname(), self.munge_socket))
        self.env = dict(os.environ, SLURM_CONF=self.conf)
        self._daemons = []
        try:
            m = os.path.join(self.root, 'munge')
            self._start(['munged', '-F', '--force', f'--key-file={key}',
                         f'--socket={self.munge_socket}', f'--pid-file={m}/munged.pid',
                         f'--log-file={m}/munged.log', f'--seed-file={m}/munged.seed'],
                        'munged')
            self._wait(lambda: os.path.exists(self.munge_socket), 'munged', 'munge/munged.log')
            self._start(['slurmctld', '-D', '-c', '-f', self.conf], 'slurmctld')
            self._start(['slurmd', '-D', '-f', self.conf], 'slurmd')
            self._wait(self._idle, 'slurmd', 'slurmd.log')
        except BaseException:
            self.close()
            raise

    def _start(self, argv, name):
        log = open(os.path.join(self.root, f'{name}.out'), 'wb')
        self._daemons.append(subprocess.Popen(argv, env=self.env, stdin=subprocess.DEVNULL,
                                              stdout=log, stderr=subprocess.STDOUT))
        log.close()

    def _wait(self, ready, name, log, timeout_s=60.0):
        deadline = time.monotonic() + timeout_s
        while not ready():
            dead = [p.args[0] for p in self._daemons if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                raise RuntimeError(f'{name} did not come up ({", ".join(dead) or "timeout"}): '
                                   f'{self.read(log)[-1500:]} {self.read(name + ".out")[-500:]}')
            time.sleep(0.2)

    def _idle(self):
        done = self.run(['sinfo', '-h', '-o', '%t'], timeout=20)
        return done.returncode == 0 and done.stdout.strip() in ('idle', 'mix', 'alloc')

    def read(self, name):
        try:
            with open(os.path.join(self.root, name), errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def run(self, argv, timeout=120, **kwargs):
        return subprocess.run(argv, env=kwargs.pop('env', self.env), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout, **kwargs)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """``scontrol shutdown``, then every daemon we started, by its pid."""
        if len(self._daemons) > 1:
            try:
                self.run(['scontrol', 'shutdown'], timeout=20)
            except subprocess.TimeoutExpired:
                pass
        for proc in reversed(self._daemons):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)
        self._daemons = []
