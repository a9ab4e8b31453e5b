#!/bin/sh
# Node side: a worker started from a snapshot takes the kubelet kubeconfig on stdin (and the CA in it),
# its address $1 and provider id $2, and starts its kubelet, which registers it under its own name.
# Read after pod-containers.sh (components/restored_worker.py).
set -eu
umask 077
systemctl stop kubelet
# The snapshot's containers, dead since it was taken: containerd's records of them cost the kubelet
# seconds each at its start (cAdvisor fails on every one), and no pod of this node will use them.
remove_pod_containers
rm -rf /etc/kubernetes/pki /etc/kubernetes/kubelet.conf /var/lib/kubelet/pki /var/lib/cni/networks
mkdir -p /etc/kubernetes/pki
cat > /etc/kubernetes/kubelet.conf
sed -n 's/^ *certificate-authority-data: *//p' /etc/kubernetes/kubelet.conf | base64 -d > /etc/kubernetes/pki/ca.crt
sed -i -e "s|--node-ip=[^ \"]*|--node-ip=$1|" -e "s|--provider-id=[^ \"]*|--provider-id=$2|" \
    /var/lib/kubelet/kubeadm-flags.env
systemctl enable kubelet 2>/dev/null
systemctl restart kubelet
echo restored
