#!/bin/sh
# Host side: wait until systemd in node $2 has finished booting, for at most $3 seconds. $1 says what the
# node is: "container", a node container, or "machine", a systemd-nspawn machine (whose Command reads
# machine-exec.sh first, so that `docker exec` enters it).
# Nothing may be exec'd into a node before that: containerd and the kubelet are systemd units.
# Prints systemd's final state; "degraded" is accepted, with the failed units listed on stderr.
set -eu
runtime=$1
node=$2
timeout=$3
case "$runtime" in
    container)
        named=$node
        # A node container that stopped will not boot: no use waiting for it.
        stopped() { [ "$(docker inspect --format '{{.State.Running}}' "$node" 2>/dev/null)" != "true" ]; }
        last_logs() { docker logs --tail 40 "$node" >&2 || true; }
        ;;
    machine)
        named="machine $node"
        stopped() { false; }
        # What the machine wrote (machine.sh keeps it beside its root filesystem), or its unit's journal.
        last_logs() {
            tail -n 40 "$KINDLING_MACHINES_DIR/$node.log" >&2 2>/dev/null ||
                journalctl --unit "kindling-$node" --lines 40 --no-pager >&2 || true
        }
        ;;
    *)
        echo "usage: wait-for-systemd.sh container|machine NODE TIMEOUT" >&2
        exit 2
        ;;
esac
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
    if stopped; then
        echo "node container $node is not running; its last log lines:" >&2
        last_logs
        exit 1
    fi
    sleep 1
done
echo "systemd in $named did not finish booting within ${timeout}s (state: ${state:-unknown}); its last log lines:" >&2
last_logs
exit 1
