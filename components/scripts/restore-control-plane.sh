#!/bin/sh
# Node side: give a control plane started from a snapshot an identity of its own, then start it.
# stdin: the stack's own kubeadm configuration, as kubeadm init would read it. $1: the address the snapshot's
# control plane had; $2: the snapshot's node names; further arguments: taints to remove (given only when
# the cluster has no workers). Read after pod-containers.sh (components/restored_control_plane.py).
# Nothing of the snapshot's credentials survives: a new CA (cluster, front proxy, etcd), certificates,
# kubeconfigs and service-account key; the bootstrap tokens and CSRs of the old ones are deleted, and the
# service-account tokens they signed are made anew.
set -eu
restore_started=$(date +%s)
snapshot_ip=$1
snapshot_nodes=$2
shift 2
node=$(hostname)
config=/etc/kindling/kubeadm.yaml
# While it exists, the kubelet runs the static pods but registers no Node (see 3).
unregistered=/run/systemd/system/kubelet.service.d/50-kindling-restore.conf
umask 077
mkdir -p /etc/kindling
cat > "$config"
# admin changes the cluster and prints nothing; ask prints the answer. What kubeadm's phases print goes
# nowhere either: the bootstrap-token phase prints the token it mints.
admin() { kubectl --kubeconfig /etc/kubernetes/admin.conf "$@" >/dev/null; }
ask() { kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }
phase() { kubeadm init phase "$@" --config "$config" >/dev/null; }
wait_for() {
    deadline=$(($(date +%s) + 180))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || { echo "no answer within 180s from: $*" >&2; exit 1; }
        sleep 0.5
    done
}

# 1. The snapshot's keys, certificates, kubeconfigs and static pods go; the restore's own replace them.
systemctl stop kubelet
# The snapshot's containers, dead since it was taken (and any a restore that failed half way left running
# with the certificates it made): containerd's records of them cost the kubelet seconds each at its
# start (cAdvisor fails on every one), and the static pods wait for that.
remove_pod_containers
rm -rf /etc/kubernetes/pki /etc/kubernetes/*.conf /etc/kubernetes/manifests/*.yaml /var/lib/kubelet/pki \
    /var/lib/cni/networks
phase certs all
phase kubeconfig all
# 2. etcd and the control plane for this node's name and address, and the kubelet that runs them.
phase etcd local
phase control-plane all

# 3. Until the cluster's records are the restore's own, the kubelet registers no Node: once one is
# registered, the DaemonSets start kube-proxy and the pod network on it at once, and with the snapshot's
# kube-proxy configuration (its control-plane endpoint, another cluster's name) kube-proxy never
# reaches the API server, and the pod network after it crash-loops on the kubernetes Service.
mkdir -p "$(dirname "$unregistered")"
printf '[Service]\nEnvironment="KUBELET_EXTRA_ARGS=--register-node=false"\n' > "$unregistered"
systemctl daemon-reload
phase kubelet-start
systemctl enable kubelet 2>/dev/null
wait_for ask get --raw /readyz

# 4. etcd's member, which keeps the snapshot's peer address until told (its name it takes from its flags),
# and the API server's endpoint lease under the snapshot's address, which would keep that address in
# the kubernetes Service. etcdctl runs in the etcd container: with no Node, etcd has no pod in the API.
etcdctl() {
    etcd_containers=$(ctr --namespace k8s.io containers ls --quiet 'labels."io.kubernetes.container.name"==etcd')
    for container in $etcd_containers; do
        if ctr --namespace k8s.io task ls | awk -v c="$container" '$1 == c && $3 == "RUNNING" { ok = 1 } END { exit !ok }'
        then
            ctr --namespace k8s.io task exec --exec-id "restore-$$-$(date +%s%N)" "$container" etcdctl \
                --endpoints https://127.0.0.1:2379 --cacert /etc/kubernetes/pki/etcd/ca.crt \
                --cert /etc/kubernetes/pki/etcd/healthcheck-client.crt \
                --key /etc/kubernetes/pki/etcd/healthcheck-client.key "$@"
            return
        fi
    done
    return 1
}
ip=$(sed -n 's/^ *advertiseAddress: *//p' "$config" | head -n 1)
member=$(etcdctl member list | cut -d, -f1)
etcdctl member update "$member" --peer-urls "https://$ip:2380" >&2
etcdctl del "/registry/masterleases/$snapshot_ip" >/dev/null

# 5. What the cluster still holds of the snapshot's nodes and credentials, deleted side by side.
pids=
in_background() { "$@" & pids="$pids $!"; }
for old in $snapshot_nodes; do
    in_background admin delete node "$old" --ignore-not-found --wait=false
done
# Every pod the snapshot holds ran on its nodes: their controllers make them anew, with this cluster's
# tokens and CA. Restored under the snapshot's own names, a node kept its pods, and their kept
# service-account volumes (the old CA, tokens the new key does not sign) left kube-proxy unauthorised.
in_background admin delete pods --all --all-namespaces --force --grace-period=0
# Service-account token secrets, signed with the snapshot's key, lose their token: the token controller
# makes a new one (and puts the new CA beside it) under the same name, which the pods the ReplicaSets
# make again at once already name. Deleted instead, they left those pods waiting for a secret forever.
blank_service_account_tokens() {
    secrets=$(ask get secrets --all-namespaces --field-selector type=kubernetes.io/service-account-token -o json)
    # Releases from 1.24 on make no such secrets: their pods' tokens are asked for, and signed, anew.
    [ "$(printf '%s' "$secrets" | jq '.items | length')" != 0 ] || return 0
    printf '%s' "$secrets" | jq '.items[] |= del(.data.token)' | admin replace -f -
}
in_background blank_service_account_tokens
# The controller manager's and scheduler's leader leases, last renewed by the snapshot's instances (before
# this restore began; under the snapshot's own names the holder's name alone does not tell): the new ones
# would wait out the old holder's lease before doing anything, and every DaemonSet and ReplicaSet with them.
for component in kube-controller-manager kube-scheduler; do
    renewed=$(ask --namespace kube-system get lease "$component" -o 'jsonpath={.spec.renewTime}' 2>/dev/null || true)
    if [ -n "$renewed" ] && [ "$(date -d "$renewed" +%s)" -lt "$restore_started" ]; then
        in_background admin --namespace kube-system delete lease,endpoints "$component" --ignore-not-found
    fi
done
in_background admin delete secrets --namespace kube-system --field-selector type=bootstrap.kubernetes.io/token
in_background admin delete csr --all
# Helm's records of the snapshot stack's releases: the restored stack installs its own, over what runs.
in_background admin delete secrets --all-namespaces --selector owner=helm
# 6. kubeadm's records in the cluster: its configuration, cluster-info (with the new CA) and kube-proxy's
# kubeconfig (with the new endpoint). The bootstrap-token phase prints the token it mints: not kept.
in_background phase upload-config kubeadm
in_background phase bootstrap-token
in_background phase addon kube-proxy
failed=0
for pid in $pids; do
    wait "$pid" || failed=1
done
[ "$failed" = 0 ] || { echo "a step of the restore's clean-up failed (above)" >&2; exit 1; }
tokens=$(kubeadm token list) || { echo "cannot list kubeadm's bootstrap tokens to delete them" >&2; exit 1; }
for token in $(printf '%s\n' "$tokens" | awk 'NR > 1 { print $1 }'); do
    kubeadm token delete "${token%%.*}" >/dev/null  # by its id: the secret half stays off command lines
done

# 7. The Node, under this node's name; then kubeadm's own marks on it.
rm -f "$unregistered"
systemctl daemon-reload
systemctl restart kubelet
phase upload-config kubelet
phase mark-control-plane
for taint in "$@"; do
    if ask get node "$node" -o jsonpath='{.spec.taints[*].key}' | tr ' ' '\n' | grep -qx "$taint"; then
        admin taint node "$node" "$taint:NoSchedule-"
    fi
done
echo restored
