#!/bin/sh
# Node side: kubeadm join with the configuration on stdin; $1 is the cluster's service subnet.
# Read after pod-containers.sh (kubeadm-join.sh and kubeadm-join-control-plane.sh run it so).
set -eu
service_subnet=$1
mkdir -p /etc/kindling
umask 077
cat > /etc/kindling/kubeadm-join.yaml
# A previous attempt that failed half way leaves a kubelet configuration behind; clear it so a retry can succeed.
if [ -e /etc/kubernetes/kubelet.conf ]; then
    echo "removing what an earlier, failed kubeadm join left behind" >&2
    # When `pulumi up` is killed, only the docker exec client dies: the join it started goes on in the node.
    while pkill -KILL -x kubeadm; do sleep 1; done
    kubeadm reset --force >&2
    # As kubeadm-init.sh does: the pods' containers too, which kubeadm reset leaves where there is no crictl.
    remove_pod_containers
fi
# As kubeadm-init.sh does: pods' packets for Service addresses kube-proxy did not translate stay here.
if [ -x /usr/local/lib/kindling/service-ips.sh ]; then
    /usr/local/lib/kindling/service-ips.sh "$service_subnet"
fi
kubeadm join --config /etc/kindling/kubeadm-join.yaml --skip-phases=preflight
rm -f /etc/kindling/kubeadm-join.yaml
