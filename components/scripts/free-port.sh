#!/bin/sh
# Host side: print a TCP port that is free on host address $1. Run once, when the API
# server's port is first published; Pulumi keeps the answer, so the port stays the same
# across Docker and host restarts (a port Docker picks itself changes on every restart).
set -eu
python3 -c '
import socket, sys
with socket.socket() as s:
    s.bind((sys.argv[1], 0))
    print(s.getsockname()[1])
' "$1"
