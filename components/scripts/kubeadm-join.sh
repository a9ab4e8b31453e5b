#!/bin/sh
# Host side: join worker node $2 to the cluster whose control plane is node $1.
# stdin is the worker's JoinConfiguration with @KINDLING_JOIN_TOKEN@ and @KINDLING_CA_CERT_HASH@
# standing for values minted here: a bootstrap token that lives 15 minutes and is deleted once
# used, so no join credential is ever stored in the Pulumi state. The node-side join script
# arrives in KINDLING_NODE_SCRIPT.
set -eu
control_plane=$1
worker=$2
node_script=$KINDLING_NODE_SCRIPT
join=$(docker exec "$control_plane" kubeadm token create --ttl 15m --print-join-command)
token=$(printf '%s\n' "$join" | sed -n 's/.*--token \([^ ]*\).*/\1/p')
ca_cert_hash=$(printf '%s\n' "$join" | sed -n 's/.*--discovery-token-ca-cert-hash \([^ ]*\).*/\1/p')
if [ -z "$token" ] || [ -z "$ca_cert_hash" ]; then
    echo "the control plane $control_plane did not issue a join token" >&2
    exit 1
fi
status=0
sed -e "s|@KINDLING_JOIN_TOKEN@|$token|" -e "s|@KINDLING_CA_CERT_HASH@|$ca_cert_hash|" \
    | docker exec -i "$worker" /bin/sh -c "$node_script" kubeadm-join-node || status=$?
docker exec "$control_plane" kubeadm token delete "$token" >/dev/null 2>&1 || true
exit "$status"
