#!/bin/sh
# Host side: join node $2 to the cluster as a further control plane; $1 is the control plane that
# ran kubeadm init, $3 the cluster's service subnet (for the node-side script). Further arguments
# are control-plane taints to remove from $2 once it has joined (given only when the cluster has
# no workers). stdin is the node's JoinConfiguration with @KINDLING_JOIN_TOKEN@,
# @KINDLING_CA_CERT_HASH@ and @KINDLING_CERTIFICATE_KEY@ standing for values minted here, just
# before the join: a bootstrap token that lives 15 minutes, and the key of a fresh upload of the
# cluster's certificates (the kubeadm-certs Secret, which kubeadm would keep for two hours). Once
# the join is over, failed or not, the token and the upload are deleted, so that no join
# credential is ever in the Pulumi state, the update's log, or the cluster for longer than needed.
# The node-side join script arrives in KINDLING_NODE_SCRIPT, the library it calls (pod-containers.sh) in
# KINDLING_NODE_SCRIPT_LIBRARY, read ahead of it in the node (components/shell.py's node_script).
set -eu
control_plane=$1
node=$2
service_subnet=$3
shift 3
node_script=$KINDLING_NODE_SCRIPT_LIBRARY$KINDLING_NODE_SCRIPT

on_control_plane() {
    docker exec "$control_plane" "$@"
}
kube_system() {
    on_control_plane kubectl --kubeconfig /etc/kubernetes/admin.conf --namespace kube-system "$@"
}
forget() {
    # By its id, the public half: the secret half never goes on a command line.
    [ -z "${token:-}" ] || on_control_plane kubeadm token delete "${token%%.*}" >/dev/null 2>&1 || true
    # The upload's lifetime is a token of its own, the Secret's owner; both go.
    owner=$(kube_system get secret kubeadm-certs -o 'jsonpath={.metadata.ownerReferences[0].name}' 2>/dev/null) \
        || owner=""
    kube_system delete secret kubeadm-certs --ignore-not-found >/dev/null 2>&1 || true
    [ -z "$owner" ] || on_control_plane kubeadm token delete "${owner#bootstrap-token-}" >/dev/null 2>&1 || true
}

join=$(on_control_plane kubeadm token create --ttl 15m --print-join-command)
token=$(printf '%s\n' "$join" | sed -n 's/.*--token \([^ ]*\).*/\1/p')
ca_cert_hash=$(printf '%s\n' "$join" | sed -n 's/.*--discovery-token-ca-cert-hash \([^ ]*\).*/\1/p')
if [ -z "$token" ] || [ -z "$ca_cert_hash" ]; then
    echo "the control plane $control_plane did not issue a join token" >&2
    forget
    exit 1
fi
# The upload-certs phase alone (kubeadm 1.15 and later, 1.18 to 1.35 alike), not kubeadm init
# --upload-certs: a key for this join only, printed into this variable and nowhere else. With the
# configuration kubeadm init used, so kubeadm asks nothing online.
uploaded=$(on_control_plane kubeadm init phase upload-certs --upload-certs --config /etc/kindling/kubeadm.yaml) \
    || uploaded=""
certificate_key=$(printf '%s\n' "$uploaded" | grep -E '^[0-9a-f]{64}$' | tail -n 1) || certificate_key=""
if [ -z "$certificate_key" ]; then
    echo "the control plane $control_plane did not upload the cluster's certificates for $node to fetch" >&2
    forget
    exit 1
fi
status=0
# Through the environment, which only this user can read, not on a command line any process can list.
KINDLING_TOKEN=$token KINDLING_CA_CERT_HASH=$ca_cert_hash KINDLING_CERTIFICATE_KEY=$certificate_key awk '{
    gsub(/@KINDLING_JOIN_TOKEN@/, ENVIRON["KINDLING_TOKEN"])
    gsub(/@KINDLING_CA_CERT_HASH@/, ENVIRON["KINDLING_CA_CERT_HASH"])
    gsub(/@KINDLING_CERTIFICATE_KEY@/, ENVIRON["KINDLING_CERTIFICATE_KEY"])
    print
}' | docker exec -i "$node" /bin/sh -c "$node_script" kubeadm-join-node "$service_subnet" || status=$?
forget
[ "$status" -eq 0 ] || exit "$status"
for taint in "$@"; do
    if on_control_plane kubectl --kubeconfig /etc/kubernetes/admin.conf get node "$node" \
        -o jsonpath='{.spec.taints[*].key}' | tr ' ' '\n' | grep -qx "$taint"; then
        on_control_plane kubectl --kubeconfig /etc/kubernetes/admin.conf taint node "$node" "$taint:NoSchedule-"
    fi
done
