#!/bin/sh
# Node side: kubeadm join with the configuration on stdin.
set -eu
mkdir -p /etc/kindling
umask 077
cat > /etc/kindling/kubeadm-join.yaml
# A previous attempt that failed half way leaves a kubelet configuration behind; clear it so a retry can succeed.
if [ -e /etc/kubernetes/kubelet.conf ]; then
    echo "removing what an earlier, failed kubeadm join left behind" >&2
    kubeadm reset --force >&2
fi
kubeadm join --config /etc/kindling/kubeadm-join.yaml --skip-phases=preflight
rm -f /etc/kindling/kubeadm-join.yaml
