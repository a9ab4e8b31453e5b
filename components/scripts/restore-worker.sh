#!/bin/sh
# Host side: give worker node $2, started from a snapshot, an identity of its own in the cluster whose
# control plane is node $1: a kubelet kubeconfig signed by that cluster's new CA (restore-identity.sh made
# it), made on the control plane from the configuration on stdin and handed to the worker through this
# process only (never an argument, a file on the host or the state). $3 and $4 are the worker's address and
# provider id, $5 the taint that holds it until its pod network serves (empty: none); the node-side
# script arrives in KINDLING_NODE_SCRIPT, pod-containers.sh ahead of it in KINDLING_NODE_SCRIPT_LIBRARY.
set -eu
control_plane=$1
worker=$2
kubelet_conf=$(docker exec -i "$control_plane" /bin/sh -c '
    set -eu
    umask 077
    work=$(mktemp -d)
    trap "rm -rf $work" EXIT
    cat > "$work/kubeadm.yaml"
    kubeadm init phase kubeconfig kubelet --config "$work/kubeadm.yaml" --kubeconfig-dir "$work" >&2
    cat "$work/kubelet.conf"')
printf '%s\n' "$kubelet_conf" | docker exec -i "$worker" /bin/sh -c "$KINDLING_NODE_SCRIPT_LIBRARY$KINDLING_NODE_SCRIPT" restore-worker-node "$3" "$4" "$5"
