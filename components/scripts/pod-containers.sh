# shellcheck shell=sh
# Read before the node-side scripts that may run again after an earlier attempt failed half way
# (kubeadm-init.sh, kubeadm-join-node.sh), which call it after their `kubeadm reset`. It travels with
# them from the host: components/shell.py's in_node(..., library="pod-containers.sh") (in_machine's for
# machines) puts this text ahead of the script's, and node_script(..., library=...) does it for the
# join scripts' KINDLING_NODE_SCRIPT. So the node image needs nothing of its own, and a prebuilt one
# not made from node-image/ gets it too.

# kubeadm reset removes the pods' containers only through crictl, which the nodes of some releases lack
# (1.19.1's): the control plane the earlier init started then goes on holding its ports with the old
# certificates, and the new one never comes up. Remove them through containerd itself, and restart it so
# that its CRI plugin forgets them.
remove_pod_containers() {
    for task in $(ctr --namespace k8s.io task ls --quiet); do
        ctr --namespace k8s.io task kill --signal SIGKILL "$task" >/dev/null 2>&1 || true
        ctr --namespace k8s.io task delete --force "$task" >/dev/null 2>&1 || true
    done
    for container in $(ctr --namespace k8s.io container ls --quiet); do
        ctr --namespace k8s.io container delete "$container" >/dev/null 2>&1 || true
    done
    systemctl restart containerd
}
