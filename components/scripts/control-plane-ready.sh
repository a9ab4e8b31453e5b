#!/bin/sh
# Node side: wait until the API server says it is ready (/readyz), for at most $1 seconds.
# kubeadm init returns once the API server answers; its controllers may still be starting.
set -eu
deadline=$(($(date +%s) + $1))
until kubectl --kubeconfig /etc/kubernetes/admin.conf get --raw /readyz >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "the API server did not become ready within $1s; what it reports:" >&2
        kubectl --kubeconfig /etc/kubernetes/admin.conf get --raw '/readyz?verbose' >&2 || true
        exit 1
    fi
    sleep 1
done
echo ready
