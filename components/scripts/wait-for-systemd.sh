#!/bin/sh
# Host side: wait until systemd in node container $1 has finished booting, for at most $2 seconds.
# Nothing may be exec'd into a node before that: containerd and the kubelet are systemd units.
# Prints systemd's final state; "degraded" is accepted, with the failed units listed on stderr.
set -eu
node=$1
timeout=$2
deadline=$(($(date +%s) + timeout))  # seconds, not passes: each docker exec takes its own time
while [ "$(date +%s)" -lt "$deadline" ]; do
    state=$(docker exec "$node" systemctl is-system-running 2>/dev/null || true)
    case "$state" in
        running)
            echo "$state"
            exit 0
            ;;
        degraded)
            echo "systemd in $node is degraded; failed units:" >&2
            docker exec "$node" systemctl --failed --no-legend --no-pager >&2 || true
            echo "$state"
            exit 0
            ;;
    esac
    if [ "$(docker inspect --format '{{.State.Running}}' "$node" 2>/dev/null)" != "true" ]; then
        echo "node container $node is not running; its last log lines:" >&2
        docker logs --tail 40 "$node" >&2 || true
        exit 1
    fi
    sleep 1
done
echo "systemd in $node did not finish booting within ${timeout}s (state: ${state:-unknown}); its last log lines:" >&2
docker logs --tail 40 "$node" >&2 || true
exit 1
