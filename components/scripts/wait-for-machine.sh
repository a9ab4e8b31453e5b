#!/bin/sh
# Host side: wait until systemd in machine $1 has finished booting, for at most $2 seconds, as
# wait-for-systemd.sh does for a node container. `docker exec` enters the machine (machine-exec.sh).
# Prints systemd's final state; "degraded" is accepted, with the failed units listed on stderr.
set -eu
node=$1
timeout=$2
deadline=$(($(date +%s) + timeout))
log="$KINDLING_MACHINES_DIR/$node.log"
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
    sleep 1
done
echo "systemd in machine $node did not finish booting within ${timeout}s (state: ${state:-unknown}); its last log lines:" >&2
tail -n 40 "$log" >&2 2>/dev/null || journalctl --unit "kindling-$node" --lines 40 --no-pager >&2 || true
exit 1
