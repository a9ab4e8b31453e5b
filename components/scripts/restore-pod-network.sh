#!/bin/sh
# Host side: once the pod network serves on node $2 of the cluster whose control plane is node $1 (its
# agent has written file $3 there) and its kubelet has settled (below), lift the taint $4 that held the
# node's pods back until then (restore-identity.sh, restore-worker-node.sh). A kubelet may not lift
# its own taints: the control plane's admin does.
set -eu
control_plane=$1
node=$2
ready_file=$3
hold=$4
# Nor before the node's kubelet has probed for PROBE_PERIOD seconds: a kubelet delays the first probe of each
# pod it gets in its first ten seconds (the period of CoreDNS's readiness probe), counted from when it made
# its probe manager, by a random part of the probe's period, and CoreDNS, placed here as soon as the hold
# lifts, would be Ready up to that much later. The kubelet makes its probe manager before it logs "Started
# kubelet" (in every release read, 1.18 to 1.34; before 1.21 it delays every pod's first probe so, whenever
# it comes): ten seconds after that line, which journald stamps, the pods it gets are probed at once. Where
# the line cannot be found, the kubelet's process must have run KUBELET_SETTLED seconds (its probe manager
# comes some 0.4 s after its start on two busy cores; a second more covers that).
PROBE_PERIOD=10
KUBELET_SETTLED=11
# Watched from inside the node: a docker exec for each look would add its own tenth of a second or more.
# The kubelet's age: its start (clock ticks since boot) against the uptime, both from /proc; its journal is
# read until it has the line, for each process the kubelet runs as.
watched=0
docker exec "$node" /bin/sh -c '
    settled() {
        pid=$(systemctl show --property MainPID --value kubelet)
        [ "${pid:-0}" -gt 0 ] || return 1
        if [ "$pid" != "${read_for:-}" ] || [ -z "$started" ]; then
            read_for=$pid
            started=$(journalctl _PID="$pid" -o short-unix --no-pager 2>/dev/null |
                awk "/\\] \"?Started kubelet\"?\$/ { print \$1; exit }")
        fi
        if [ -n "$started" ]; then
            awk -v now="$(date +%s.%N)" -v started="$started" -v period="$2" "BEGIN { exit !(now - started >= period) }"
            return
        fi
        awk -v tick="$(getconf CLK_TCK)" -v start="$(cut -d " " -f 22 "/proc/$pid/stat")" -v least="$3" \
            "{ exit !(\$1 - start / tick >= least) }" /proc/uptime
    }
    started=
    deadline=$(($(date +%s) + 300))
    until test -s "$1" && settled "$@"; do
        [ "$(date +%s)" -lt "$deadline" ] || { test -s "$1" && exit 4; exit 3; }
        sleep 0.1
    done' watch "$ready_file" "$PROBE_PERIOD" "$KUBELET_SETTLED" || watched=$?
case $watched in
0) ;;
3) echo "the pod network did not start on $node within 300s (no $ready_file there)" >&2; exit 1 ;;
4) echo "the kubelet on $node did not probe for $PROBE_PERIOD s on end within 300s" >&2; exit 1 ;;
*) echo "could not watch $node for $ready_file (docker exec failed: $watched)" >&2; exit 1 ;;
esac
admin() { docker exec "$control_plane" kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }
# Lifted at once; asked whether it is there only when that fails (a node retried after it was lifted).
if ! lifted=$(admin taint node "$node" "$hold:NoSchedule-" 2>&1); then
    if admin get node "$node" -o 'jsonpath={.spec.taints[*].key}' | tr ' ' '\n' | grep -qx "$hold"; then
        echo "$lifted" >&2
        exit 1
    fi
fi
echo serving
