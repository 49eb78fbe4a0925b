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
A stand-in for ``ssh HOST VAR=value CMD...`` between the rig's hosts (tests only).

``serve PORT`` (inside a host): for each connection, read one JSON list
``[VAR=value..., CMD, ARG...]`` and start CMD detached (a session of its own,
like ``ssh host 'nohup CMD &'``) with only ``PATH`` and the given variables;
answer its pid. Like ssh, nothing of the caller's environment goes along: a run
tag reaches the remote process only when the command names it.

``call ADDRESS PORT VAR=value... CMD ARG...``: send it, print the remote pid, exit 0.
"""

import json
import os
import signal
import socket
import subprocess
import sys


def serve(port):
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps what we start
    server = socket.create_server(('0.0.0.0', port))
    print('serving', flush=True)
    while True:
        conn, _ = server.accept()
        with conn, conn.makefile('rw') as stream:
            words = json.loads(stream.readline())
            env = {'PATH': os.environ.get('PATH', '/usr/bin:/bin')}
            while words and '=' in words[0] and not words[0].startswith('='):
                key, _, value = words.pop(0).partition('=')
                env[key] = value
            proc = subprocess.Popen(words, env=env, start_new_session=True,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            stream.write(f'{proc.pid}\n')
            stream.flush()


def call(address, port, words):
    with socket.create_connection((address, port), timeout=30) as conn:
        with conn.makefile('rw') as stream:
            stream.write(json.dumps(words) + '\n')
            stream.flush()
            print(stream.readline().strip())


if __name__ == '__main__':
    if sys.argv[1] == 'serve':
        serve(int(sys.argv[2]))
    else:
        call(sys.argv[2], int(sys.argv[3]), sys.argv[4:])
