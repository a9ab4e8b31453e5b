#!/bin/sh
# Node side: a worker started from a snapshot takes the kubelet kubeconfig on stdin (and the CA in it),
# its address $1 and provider id $2, and starts its kubelet, which registers it under its own name, held
# with taint $3 (if any) until its pod network serves (restore-pod-network.sh lifts it).
# Read after pod-containers.sh and restored-kubelet.sh (components/restored_worker.py).
set -eu
umask 077
systemctl stop kubelet
# The snapshot's containers, dead since it was taken: containerd's records of them cost the kubelet
# seconds each at its start (cAdvisor fails on every one), and no pod of this node will use them.
remove_pod_containers
rm -rf /etc/kubernetes/pki /etc/kubernetes/kubelet.conf /var/lib/kubelet/pki /var/lib/cni/networks
# The pod network's configuration stays only on a held node (restore-identity.sh says why).
[ -n "$3" ] || rm -rf /etc/cni/net.d/*
mkdir -p /etc/kubernetes/pki
cat > /etc/kubernetes/kubelet.conf
sed -n 's/^ *certificate-authority-data: *//p' /etc/kubernetes/kubelet.conf | base64 -d > /etc/kubernetes/pki/ca.crt
sed -i -e "s|--node-ip=[^ \"]*|--node-ip=$1|" -e "s|--provider-id=[^ \"]*|--provider-id=$2|" \
    /var/lib/kubelet/kubeadm-flags.env
prepare_restored_kubelet "$3" # restored-kubelet.sh, read ahead of this
systemctl enable kubelet 2>/dev/null
systemctl restart kubelet
echo restored
