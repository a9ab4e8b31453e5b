#!/bin/sh
# Node side: kubeadm init on control-plane node $1 with the configuration on stdin; $2 is the
# cluster's service subnet. Further arguments are control-plane taints to remove (given only when
# the cluster has no workers). Read after pod-containers.sh (components/control_plane.py).
set -eu
node=$1
service_subnet=$2
shift 2
mkdir -p /etc/kindling
cat > /etc/kindling/kubeadm.yaml

# A previous attempt that failed half way leaves manifests, certificates and etcd data behind;
# clear them so that running `pulumi up` again can succeed.
if [ -e /etc/kubernetes/manifests/kube-apiserver.yaml ] || [ -d /var/lib/etcd/member ]; then
    echo "removing what an earlier, failed kubeadm init left behind" >&2
    # When `pulumi up` is killed, only the docker exec client dies: the kubeadm init it started goes
    # on in the node and would write on after the reset.
    while pkill -KILL -x kubeadm; do sleep 1; done
    kubeadm reset --force >&2
    # The pods' containers too, which kubeadm reset leaves where the node has no crictl (pod-containers.sh,
    # read ahead of this script).
    remove_pod_containers
fi
# Pods' packets for Service addresses kube-proxy did not translate stay on the node, from now on
# and after every restart (absent from a prebuilt node image not made from node-image/).
if [ -x /usr/local/lib/kindling/service-ips.sh ]; then
    /usr/local/lib/kindling/service-ips.sh "$service_subnet"
fi
# Preflight checks assume a machine, not a container (swap, kernel config, modules): skip them as kind does.
kubeadm init --config /etc/kindling/kubeadm.yaml --skip-phases=preflight --skip-token-print
# kubeadm init mints a bootstrap token that lets anyone reaching the API server join a node for
# 24 hours. Workers get their own 15-minute token when they join (kubeadm-join.sh): delete it.
# A failed listing must fail the step, not leave the 24-hour token behind unnoticed.
tokens=$(kubeadm token list) || { echo "cannot list kubeadm's bootstrap tokens to delete them" >&2; exit 1; }
for token in $(printf '%s\n' "$tokens" | awk 'NR > 1 { print $1 }'); do
    kubeadm token delete "${token%%.*}" >/dev/null  # by its id: the secret half stays off command lines
done
for taint in "$@"; do
    if kubectl --kubeconfig /etc/kubernetes/admin.conf get node "$node" \
        -o jsonpath='{.spec.taints[*].key}' | tr ' ' '\n' | grep -qx "$taint"; then
        kubectl --kubeconfig /etc/kubernetes/admin.conf taint node "$node" "$taint:NoSchedule-"
    fi
done
