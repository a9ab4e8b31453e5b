#!/bin/sh
# Node side: the first step of a control plane's restore from a snapshot: the snapshot's keys, certificates,
# kubeconfigs and static pods go, and the stack's own replace them, from kubeadm's phases and the stack's
# kubeadm configuration on stdin; then the kubelet starts on them. $1: the taint that holds restored nodes
# until their pod network serves (empty: none). Read after pod-containers.sh, restore-waits.sh and
# restored-kubelet.sh. A step of its own because the workers need only its new CA: their restores
# (restore-worker.sh) run beside the rest of the control plane's (restore-control-plane.sh), so their
# kubelets have started, and settled, before their pods are made anew.
set -eu
network_hold=$1
config=/etc/kindling/kubeadm.yaml
umask 077
mkdir -p /etc/kindling
cat > "$config"
# This step starts with the node's container, beside systemd's boot (the keys, most of its work, need
# nothing of it): what needs systemd, or containerd (a unit of it), waits here until it answers, looked
# for every 0.1 s (wait_for: restore-waits.sh, read ahead of this).
# shellcheck disable=SC2034 # read by wait_for
look_every=0.1
wait_for systemd_in initializing starting running degraded
# A snapshot's image boots with the kubelet disabled, and a restore enables it. Enabled, the node has been
# restored already: by a kindling whose restore was one step, so this step is new to the stack's state,
# and must not give a running cluster a new CA.
if systemctl is-enabled --quiet kubelet; then
    echo "restored already: identity kept"
    exit 0
fi
phase() { kubeadm init phase "$@" --config "$config" >/dev/null; }

systemctl stop kubelet
rm -rf /etc/kubernetes/pki /etc/kubernetes/*.conf /etc/kubernetes/manifests/*.yaml /var/lib/kubelet/pki \
    /var/lib/cni/networks
# The pod network's configuration makes the node Ready at once, while the network's own state (under /run)
# is gone until its agent starts again: a pod scheduled then fails its sandbox and waits out the kubelet's
# 10-15 s back-off. Held nodes keep it (no pod of theirs is scheduled before the network serves, and the
# kubelet's 5 s look for a network is saved); otherwise it goes, and the network's DaemonSet writes it
# again once it runs, as on a new node.
[ -n "$network_hold" ] || rm -rf /etc/cni/net.d/*

# Steps run side by side where they can; each is waited for, and any failure fails the step.
pids=
in_background() { "$@" & pids="$pids $!"; }
# The snapshot's containers, dead since it was taken (and any a restore that failed half way left running
# with the certificates it made): containerd's records of them cost the kubelet seconds each at its
# start (cAdvisor fails on every one), and the static pods wait for that. Dead ones (no task runs) go in
# one call of ctr, where remove_pod_containers, for the running ones, makes one for each: some twenty
# calls, a second of the two cores' time while the keys are made. containerd restarts, as there, so
# that its CRI plugin forgets them.
remove_dead_containers() {
    wait_for ctr version
    if [ -n "$(ctr --namespace k8s.io task ls --quiet)" ]; then
        remove_pod_containers
        return
    fi
    dead=$(ctr --namespace k8s.io container ls --quiet)
    [ -n "$dead" ] || return 0
    # shellcheck disable=SC2086 # one argument per container
    ctr --namespace k8s.io container delete $dead >/dev/null ||
        echo "some of the snapshot's dead containers stay in containerd: the kubelet starts slower" >&2
    systemctl restart containerd
}
in_background remove_dead_containers
# kubeadm's certs all and kubeconfig all, their keys (the slow part) made two at a time on two cores: each
# chain after the CA that signs it.
certificates() { for certificate in "$@"; do phase certs "$certificate"; done; }
phase certs ca
in_background certificates apiserver apiserver-kubelet-client
in_background certificates front-proxy-ca front-proxy-client
in_background certificates etcd-ca etcd-server etcd-peer etcd-healthcheck-client apiserver-etcd-client
# The service-account key pair, in kubeadm's default place. This phase takes no configuration before 1.31,
# and without one it asks dl.k8s.io for the latest release, to fall back to its own when that fails: a
# request to the internet at every restore, which waits up to 10 s where DNS does not answer. Through a
# proxy that refuses at once, it stays on the node; what it says is shown only if it fails.
service_account_key() {
    refused=http://127.0.0.1:9
    said=$(HTTPS_PROXY=$refused https_proxy=$refused NO_PROXY='' no_proxy='' \
        kubeadm init phase certs sa --cert-dir /etc/kubernetes/pki 2>&1) || { printf '%s\n' "$said" >&2; return 1; }
}
in_background service_account_key
in_background phase kubeconfig all
failed=0
for pid in $pids; do
    wait "$pid" || failed=1
done
[ "$failed" = 0 ] || { echo "a step of the restore's new identity failed (above)" >&2; exit 1; }
# The kubelet, started as soon as the keys are made and the node's boot has finished (looked for every 0.1 s):
# in this step, not the next, which Pulumi starts only after this one ends. It runs etcd and the control plane
# for this node's name and address, and registers the Node once the API server answers (held, when the pod
# network has a hold, until that network serves: restore-pod-network.sh lifts it). It starts before the
# clean-up (restore-control-plane.sh) because the kubelet probes the pods it gets in its first ten seconds at
# a random point of their period: CoreDNS's readiness, 10 s, would come that much later. It finds none of the
# snapshot's pods to start (that step deletes them) but its own static pods' mirrors.
wait_for systemd_in running degraded
phase etcd local
phase control-plane all
# The controller manager starts only once the API server is ready (restore-control-plane.sh puts it in place):
# started beside it, its first try for its leader lease met an API server not authorising anyone yet, and it
# tried again only 2-4.4 s on (its retry period, jittered), holding every controller that long.
# shellcheck disable=SC2154 # restore-waits.sh
mv /etc/kubernetes/manifests/kube-controller-manager.yaml "$held_manifest"
prepare_restored_kubelet "$network_hold" # restored-kubelet.sh, read ahead of this
phase kubelet-start
# Enabled last: an enabled kubelet says that this step is done (above).
systemctl enable kubelet 2>/dev/null
echo "new identity"
