#!/bin/sh
# Node side: what the node actually runs, one "<component> <the tool's own version line>" each.
set -u
report() {
    name=$1
    shift
    line=$("$@" 2>/dev/null | head -n 1) || line=""
    printf '%s %s\n' "$name" "${line:-not installed}"
}
report kubernetes kubelet --version
report kubeadm kubeadm version -o short
report containerd containerd --version
report runc runc --version
report crictl crictl --version
report helm helm version --short
