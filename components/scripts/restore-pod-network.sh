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
deadline=$(($(date +%s) + 300))
until docker exec "$node" test -s "$ready_file"; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "the pod network did not start on $node within 300s (no $ready_file there)" >&2
        exit 1
    fi
    sleep 0.2
done
admin() { docker exec "$control_plane" kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }
if admin get node "$node" -o 'jsonpath={.spec.taints[*].key}' | tr ' ' '\n' | grep -qx "$hold"; then
    admin taint node "$node" "$hold:NoSchedule-" >/dev/null
fi
echo serving
