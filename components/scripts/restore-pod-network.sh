#!/bin/sh
# Host side: once the pod network serves on node $2 of the cluster whose control plane is node $1 (its
# agent has written file $3 there), lift the taint $4 that held the node's pods back until then
# (restore-control-plane.sh, restore-worker-node.sh). A kubelet may not lift its own taints: the
# control plane's admin does.
set -eu
control_plane=$1
node=$2
ready_file=$3
hold=$4
# Watched from inside the node: a docker exec for each look would add its own tenth of a second or more.
watched=0
docker exec "$node" /bin/sh -c '
    deadline=$(($(date +%s) + 300))
    until test -s "$1"; do
        [ "$(date +%s)" -lt "$deadline" ] || exit 3
        sleep 0.1
    done' watch "$ready_file" || watched=$?
case $watched in
0) ;;
3) echo "the pod network did not start on $node within 300s (no $ready_file there)" >&2; exit 1 ;;
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
