#!/bin/sh
# Node side: give a control plane started from a snapshot an identity of its own, then start it.
# stdin: the stack's own kubeadm configuration, as kubeadm init would read it. $1: the address the snapshot's
# control plane had; $2: the snapshot's node names; further arguments: taints to remove (given only when
# the cluster has no workers).
# Nothing of the snapshot's credentials survives: a new CA (cluster, front proxy, etcd), certificates,
# kubeconfigs and service-account key, and the tokens, CSRs and service-account token secrets the old
# ones signed are deleted.
set -eu
snapshot_ip=$1
snapshot_nodes=$2
shift 2
node=$(hostname)
config=/etc/kindling/kubeadm.yaml
umask 077
mkdir -p /etc/kindling
cat > "$config"
admin() { kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }
phase() { kubeadm init phase "$@" --config "$config" >&2; }

# 1. The snapshot's keys, certificates, kubeconfigs and static pods go; the restore's own replace them.
systemctl stop kubelet
# A restore that failed half way left pods running with the certificates it made: stop them too.
for task in $(ctr --namespace k8s.io task ls --quiet); do
    ctr --namespace k8s.io task kill --signal SIGKILL "$task" >/dev/null 2>&1 || true
done
rm -rf /etc/kubernetes/pki /etc/kubernetes/*.conf /etc/kubernetes/manifests/*.yaml /var/lib/kubelet/pki \
    /var/lib/cni/networks
phase certs all
phase kubeconfig all
# 2. etcd and the control plane for this node's name and address, and the kubelet that runs them.
phase etcd local
phase control-plane all
phase kubelet-start
systemctl enable kubelet 2>/dev/null

# 3. The API server; then etcd's member, which keeps the snapshot's peer address until told (its name
# it takes from its flags), and what the cluster still holds of the snapshot's nodes and credentials.
wait_for() {
    deadline=$(($(date +%s) + 180))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || { echo "no answer within 180s from: $*" >&2; exit 1; }
        sleep 0.5
    done
}
wait_for admin get --raw /readyz
for old in $snapshot_nodes; do
    admin delete node "$old" --ignore-not-found --wait=false >&2
    admin delete pods --all-namespaces --field-selector "spec.nodeName=$old" --force --grace-period=0 >/dev/null 2>&1
done
admin delete secrets --all-namespaces --field-selector type=kubernetes.io/service-account-token >/dev/null
admin delete secrets --namespace kube-system --field-selector type=bootstrap.kubernetes.io/token >/dev/null
admin delete csr --all >/dev/null
etcdctl() {
    admin --namespace kube-system exec "etcd-$node" -- etcdctl --endpoints https://127.0.0.1:2379 \
        --cacert /etc/kubernetes/pki/etcd/ca.crt --cert /etc/kubernetes/pki/etcd/healthcheck-client.crt \
        --key /etc/kubernetes/pki/etcd/healthcheck-client.key "$@"
}
wait_for etcdctl endpoint health
ip=$(sed -n 's/^ *advertiseAddress: *//p' "$config" | head -n 1)
member=$(etcdctl member list | cut -d, -f1)
etcdctl member update "$member" --peer-urls "https://$ip:2380" >&2
# The API server's endpoint lease under the snapshot's address, which would keep it in the kubernetes Service.
etcdctl del "/registry/masterleases/$snapshot_ip" >/dev/null
# Helm's records of the snapshot stack's releases: the restored stack installs its own, over what runs.
admin delete secrets --all-namespaces --selector owner=helm >/dev/null
# 5. kubeadm's records in the cluster: its configuration, the control-plane label and taints, cluster-info
# (with the new CA) and kube-proxy's kubeconfig (with the new endpoint).
phase upload-config all
phase mark-control-plane
# This phase mints a bootstrap token to make cluster-info; it is printed, so nothing of it reaches a log.
kubeadm init phase bootstrap-token --config "$config" >/dev/null
phase addon kube-proxy
tokens=$(kubeadm token list) || { echo "cannot list kubeadm's bootstrap tokens to delete them" >&2; exit 1; }
for token in $(printf '%s\n' "$tokens" | awk 'NR > 1 { print $1 }'); do
    kubeadm token delete "$token" >/dev/null
done
for taint in "$@"; do
    if admin get node "$node" -o jsonpath='{.spec.taints[*].key}' | tr ' ' '\n' | grep -qx "$taint"; then
        admin taint node "$node" "$taint:NoSchedule-" >&2
    fi
done
echo restored
