#!/usr/bin/env bash
# Make sure a Docker engine answers on this machine (CI and dev boxes alike).
#
# Why: the CI machine is a fresh Debian bookworm VM without systemd as PID 1, so
# `systemctl start docker` is not an option; dockerd is started in the background
# by hand. Debian's docker.io (20.10) works here with its defaults: overlay2 on
# ext4, cgroupfs driver (host is cgroup v1 hybrid), iptables-nft. Note a static
# docker *client* may already be on PATH (/usr/local/bin/docker) with no daemon,
# so "is docker installed" is judged by `dockerd`, and "is it up" by `docker info`.
#
# Idempotent; run as root. Env: DOCKER_WAIT_SECONDS (default 60),
# DOCKERD_LOG (default /tmp/dockerd.log).
set -euo pipefail

WAIT="${DOCKER_WAIT_SECONDS:-60}"
LOG="${DOCKERD_LOG:-/tmp/dockerd.log}"

engine_answers() { command -v docker >/dev/null && docker info >/dev/null 2>&1; }

if engine_answers; then
  echo "docker engine already answers"
  exit 0
fi

if ! command -v dockerd >/dev/null; then
  echo "installing docker.io from apt"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 \
    apt-get install -y -qq docker.io; } >/tmp/apt-docker.log 2>&1 ||
    { tail -n 20 /tmp/apt-docker.log >&2; exit 1; }
fi

# Start dockerd only if none is running (it may still be starting up). setsid: its
# own session, so it outlives this script and the CI step's process group.
if ! pgrep -x dockerd >/dev/null; then
  echo "starting dockerd (log: $LOG)"
  setsid -f dockerd >"$LOG" 2>&1 </dev/null
fi

for ((i = 0; i < WAIT; i++)); do
  if engine_answers; then
    echo "docker engine answers after ${i}s: $(docker version --format '{{.Server.Version}}')"
    exit 0
  fi
  sleep 1
done

echo "ERROR: docker engine did not answer within ${WAIT}s; last lines of $LOG:" >&2
tail -n 20 "$LOG" >&2 || true
exit 1
