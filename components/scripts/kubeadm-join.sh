#!/bin/sh
# Host side: join worker node $2 to the cluster whose control plane is node $1; $3 is the
# cluster's service subnet, for the node-side script.
# stdin is the worker's JoinConfiguration with @KINDLING_JOIN_TOKEN@ and @KINDLING_CA_CERT_HASH@
# standing for values minted here: a bootstrap token that lives 15 minutes and is deleted once
# used, so no join credential is ever stored in the Pulumi state. The node-side join script
# arrives in KINDLING_NODE_SCRIPT, the library it calls (pod-containers.sh) in KINDLING_NODE_SCRIPT_LIBRARY,
# read ahead of it in the node (components/shell.py's node_script).
set -eu
control_plane=$1
worker=$2
service_subnet=$3
node_script=$KINDLING_NODE_SCRIPT_LIBRARY$KINDLING_NODE_SCRIPT
admin() { docker exec "$control_plane" kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }
# An interrupted `up` (make recover) may have left this join done, or half done. A worker the
# cluster has as Ready, with its kubelet configuration in place, needs nothing; any other node of
# that name goes first, because kubeadm refuses to join a name the cluster holds as Ready.
ready=$(admin get node "$worker" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true)
if [ "$ready" = True ] && docker exec "$worker" test -e /etc/kubernetes/kubelet.conf; then
    echo "$worker has already joined the cluster" >&2
    exit 0
fi
admin delete node "$worker" --ignore-not-found >/dev/null
join=$(docker exec "$control_plane" kubeadm token create --ttl 15m --print-join-command)
token=$(printf '%s\n' "$join" | sed -n 's/.*--token \([^ ]*\).*/\1/p')
ca_cert_hash=$(printf '%s\n' "$join" | sed -n 's/.*--discovery-token-ca-cert-hash \([^ ]*\).*/\1/p')
if [ -z "$token" ] || [ -z "$ca_cert_hash" ]; then
    echo "the control plane $control_plane did not issue a join token" >&2
    exit 1
fi
status=0
# Through the environment, which only this user can read, not on a command line any process can list
# (make drills samples the process list while joins run).
KINDLING_TOKEN=$token KINDLING_CA_CERT_HASH=$ca_cert_hash awk '{
    gsub(/@KINDLING_JOIN_TOKEN@/, ENVIRON["KINDLING_TOKEN"])
    gsub(/@KINDLING_CA_CERT_HASH@/, ENVIRON["KINDLING_CA_CERT_HASH"])
    print
}' | docker exec -i "$worker" /bin/sh -c "$node_script" kubeadm-join-node "$service_subnet" || status=$?
# By its id, the public half: the secret half never goes on a command line.
docker exec "$control_plane" kubeadm token delete "${token%%.*}" >/dev/null 2>&1 || true
exit "$status"
