#!/bin/sh
# Node side: the rest of a control plane's restore from a snapshot, once restore-identity.sh gave it its new
# identity (CA, certificates, kubeconfigs and service-account key) and started its kubelet on it: clear what
# the cluster still holds of the snapshot's nodes and credentials. stdin: the stack's own kubeadm
# configuration, as kubeadm init would read it. $1: the address the snapshot's control plane had; $2: the
# snapshot's node names; $3: the taint that holds this cluster's nodes until their pod network serves
# (empty: none; restore-pod-network.sh lifts it); further arguments: taints to remove (given only when the
# cluster has no workers) (components/restored_control_plane.py). Read after restore-waits.sh. Nothing of
# the snapshot's credentials survives: the bootstrap tokens and CSRs of the old ones are deleted, and the
# service-account tokens they signed are made anew.
set -eu
snapshot_ip=$1
snapshot_nodes=$2
network_hold=$3
shift 3
node=$(hostname)
config=/etc/kindling/kubeadm.yaml
umask 077
mkdir -p /etc/kindling
cat > "$config"
# admin changes the cluster and prints nothing; ask prints the answer. What kubeadm's phases print goes
# nowhere either: the bootstrap-token phase prints the token it mints.
admin() { kubectl --kubeconfig /etc/kubernetes/admin.conf "$@" >/dev/null; }
ask() { kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }
phase() { kubeadm init phase "$@" --config "$config" >/dev/null; }

# Steps run side by side where they can; each background job is waited for, and any failure fails
# the restore.
pids=
in_background() { "$@" & pids="$pids $!"; }
wait_for_background() {
    failed=0
    for pid in $pids; do
        wait "$pid" || failed=1
    done
    pids=
    [ "$failed" = 0 ] || { echo "a step of the restore failed (above)" >&2; exit 1; }
}

# 1. etcd's member, which keeps the snapshot's peer address until told (its name it takes from its flags),
# and the API server's endpoint lease under the snapshot's address, which would keep that address in
# the kubernetes Service: while the API server starts. etcdctl runs in the etcd container: there is no
# API server yet to reach it through. What waits for etcd and the API server looks every 0.2 s, on a host
# those two keep busy: with curl (where the node has it) a look costs a fraction of a kubectl's or ctr's.
etcd_container() {
    for container in $(ctr --namespace k8s.io containers ls --quiet 'labels."io.kubernetes.container.name"==etcd'); do
        if ctr --namespace k8s.io task ls | awk -v c="$container" '$1 == c && $3 == "RUNNING" { ok = 1 } END { exit !ok }'
        then
            echo "$container"
            return
        fi
    done
    return 1
}
# etcdctl in etcd's container $1 (etcd_container's answer).
etcdctl_in() {
    container=$1
    shift
    ctr --namespace k8s.io task exec --exec-id "restore-$$-$(date +%s%N)" "$container" etcdctl \
        --endpoints https://127.0.0.1:2379 --cacert /etc/kubernetes/pki/etcd/ca.crt \
        --cert /etc/kubernetes/pki/etcd/healthcheck-client.crt \
        --key /etc/kubernetes/pki/etcd/healthcheck-client.key "$@"
}
# kubeadm's etcd serves its health in plain HTTP on the address of --listen-metrics-urls.
etcd_health_url=$(grep -o 'listen-metrics-urls=http://[^,"]*' /etc/kubernetes/manifests/etcd.yaml | head -n 1 |
    sed 's/^listen-metrics-urls=//')
# etcd's container and member ID ($etcd, $member), once etcd answers its clients. Its health, in plain HTTP,
# is the cheaper look and comes first (etcd 3.4 answers it before its clients' port).
etcd_member() {
    if [ -n "$etcd_health_url" ] && command -v curl >/dev/null; then
        curl -fs "$etcd_health_url/health" || return 1
    fi
    etcd=$(etcd_container) || return 1
    listed=$(etcdctl_in "$etcd" member list) || return 1
    member=${listed%%,*}
    [ -n "$member" ]
}
api_port=$(sed -n 's/^ *bindPort: *//p' "$config" | head -n 1)
api_port=${api_port:-6443}
# The API server's certificate names "kubernetes" whatever its addresses; the client certificate is one of
# the cluster's admins (system:masters before 1.29), so the answer is the API server's readiness alone:
# it authorises everyone (its caches synced) and ran its start hooks, but for the one that makes the
# system priority classes. Those are in the snapshot's etcd already, and that hook, which looks once a
# second and missed at its first look, held /readyz a second beyond the rest (the controller manager's
# own first look, at /healthz, waits for it if it is still out).
ready_but_priority_classes='/readyz?exclude=poststarthook/scheduling/bootstrap-system-priority-classes'
api_server_ready() {
    if command -v curl >/dev/null; then
        curl -fs --resolve "kubernetes:$api_port:127.0.0.1" --cacert /etc/kubernetes/pki/ca.crt \
            --cert /etc/kubernetes/pki/apiserver-kubelet-client.crt \
            --key /etc/kubernetes/pki/apiserver-kubelet-client.key "https://kubernetes:$api_port$ready_but_priority_classes"
    else
        ask get --raw "$ready_but_priority_classes"
    fi
}
move_etcd_member() {
    ip=$(sed -n 's/^ *advertiseAddress: *//p' "$config" | head -n 1)
    wait_for etcd_member
    etcdctl_in "$etcd" member update "$member" --peer-urls "https://$ip:2380" >&2
    # The controller manager's and scheduler's leader records, last renewed by the snapshot's instances:
    # the new ones would wait out the old holder's lease (15 s) before doing anything, and every DaemonSet
    # and ReplicaSet with them; gone before the API server serves, the new ones lead at their first try. A
    # new instance takes a lease it finds held only after watching it unrenewed for that whole duration,
    # from its first look through the API server (starting beside this): what is deleted here, seconds in,
    # is the snapshot's.
    # Leases from 1.20 on; 1.19's instances keep an Endpoints record beside theirs.
    # The snapshot's events too: they tell of its nodes and pods (`kubectl get events` would show a cluster
    # of other names), and etcd keeps them an hour after the restore. So does the snapshot's API server's
    # identity lease (from 1.26; named after its host, kube-apiserver-<hash> in 1.26 and apiserver-<hash> from
    # 1.27, and no other lease of kube-system's begins so): the cluster would list two API servers for an hour
    # or two, until the lease ran out and the API server's own collector came by. A same-name restore's API
    # server, which takes that lease's name, makes it again within 10 s if it had made it already.
    # And every pod of the snapshot but the mirrors of this node's static pods (a same-name restore's): no
    # kubelet starts one again with the snapshot's configuration (kube-proxy's endpoint, CA, tokens), on two
    # cores busy starting the control plane; their controllers make them anew as soon as they lead, with
    # the restore's (3 says when that is not so).
    # shellcheck disable=SC2154 # restore-waits.sh
    mirrors=$(for manifest in /etc/kubernetes/manifests/*.yaml "$held_manifest"; do
        echo "/registry/pods/kube-system/$(basename "$manifest" .yaml)-$node"
    done)
    pods=$(etcdctl_in "$etcd" get /registry/pods/ --prefix --keys-only) || return 1
    deletions=$(
        echo "del /registry/masterleases/$snapshot_ip"
        echo "del --prefix /registry/events/"
        echo "del --prefix /registry/leases/kube-system/apiserver-"
        echo "del --prefix /registry/leases/kube-system/kube-apiserver-"
        for component in kube-controller-manager kube-scheduler; do
            echo "del /registry/leases/kube-system/$component"
            echo "del /registry/services/endpoints/kube-system/$component"
        done
        printf '%s\n' "$pods" | grep -v -x -F -e "$mirrors" -e '' | sed 's/^/del /'
    )
    # In transactions (no condition; a blank line ends each part of one) of at most 100 deletions, below
    # etcd's limit of operations in one (128 by default): one etcdctl for most clusters.
    count=$(printf '%s\n' "$deletions" | wc -l)
    first=1
    while [ "$first" -le "$count" ]; do
        {
            echo
            printf '%s\n' "$deletions" | sed -n "$first,$((first + 99))p"
            printf '\n\n'
        } | etcdctl_in "$etcd" txn >/dev/null
        first=$((first + 100))
    done
}
in_background move_etcd_member
wait_for api_server_ready
# The controller manager, held by restore-identity.sh until now (already in place: a restore run again).
[ ! -e "$held_manifest" ] || mv "$held_manifest" /etc/kubernetes/manifests/
wait_for_background

# 2. The nodes kept (under the snapshot's own names) are held, as a new one registers held: the
# controller manager makes the pods anew, and none must land on a node whose network is not up.
hold_kept_nodes() {
    kept=
    for name in $(ask get nodes -o 'jsonpath={.items[*].metadata.name}'); do
        case " $snapshot_nodes " in *" $name "*) continue ;; esac
        kept="$kept $name"
    done
    # shellcheck disable=SC2086 # one argument per node
    [ -z "$kept" ] || admin taint node $kept "$network_hold:NoSchedule" --overwrite
}
[ -z "$network_hold" ] || in_background hold_kept_nodes
# Beside it, what the cluster still holds of the snapshot's nodes and credentials.
for old in $snapshot_nodes; do
    in_background admin delete node "$old" --ignore-not-found --wait=false
done
# Service-account token secrets, signed with the snapshot's key, lose their token: the token controller
# makes a new one (and puts the new CA beside it) under the same name, which the pods the ReplicaSets
# make anew already name. Deleted instead, they left those pods waiting for a secret forever.
blank_service_account_tokens() {
    secrets=$(ask get secrets --all-namespaces --field-selector type=kubernetes.io/service-account-token -o json)
    # Releases from 1.24 on make no such secrets: their pods' tokens are asked for, and signed, anew.
    [ "$(printf '%s' "$secrets" | jq '.items | length')" != 0 ] || return 0
    # A patch of each, not a replace of what was listed: the controller manager, leading already (see 1),
    # writes the new CA into them meanwhile, and deletes the ones its own controllers found invalid (made
    # anew, they have nothing to lose): that one is gone is the one answer let pass.
    refused=$(printf '%s' "$secrets" | admin patch -f - --type merge --patch '{"data": {"token": null}}' 2>&1) || true
    refused=$(printf '%s\n' "$refused" | grep -v -e '^Error from server (NotFound): ' -e '^Warning: ' -e '^$' || true)
    [ -z "$refused" ] || { printf '%s\n' "$refused" >&2; return 1; }
}
in_background blank_service_account_tokens
# Each namespace's kube-root-ca.crt (from 1.20 on), the CA that pods' service-account volumes carry: the
# controller manager publishes the new one once it runs, but a pod made before that (a DaemonSet's, made as
# soon as it leads) keeps the snapshot's CA, and a kube-proxy with it never trusts the API server.
publish_root_ca() {
    published=$(ask get configmaps --all-namespaces --field-selector metadata.name=kube-root-ca.crt -o json)
    [ "$(printf '%s' "$published" | jq '.items | length')" != 0 ] || return 0
    # Without its resource version: the controller manager may publish the same at the same time.
    printf '%s' "$published" |
        jq --rawfile ca /etc/kubernetes/pki/ca.crt '.items[] |= (.data["ca.crt"] = $ca | del(.metadata.resourceVersion))' |
        admin replace -f -
}
in_background publish_root_ca
in_background admin delete csr --all
# Helm's records of the snapshot stack's releases: the restored stack installs its own, over what runs.
in_background admin delete secrets --all-namespaces --selector owner=helm
# 3. kubeadm's records in the cluster: its configuration and kube-proxy's kubeconfig (with the new endpoint;
# with the snapshot's, another cluster's name, kube-proxy never reaches the API server, and the pod
# network after it crash-loops on the kubernetes Service). kubeadm's configuration is made anew, not
# updated: before 1.22 it holds a ClusterStatus, each control plane's name and address, to which kubeadm's
# upload adds this node and in which it keeps the snapshot's (kubeadm of those releases falls back on it
# for etcd's and the API server's endpoints where the static pods' annotations are missing).
renew_kubeadm_config() {
    admin --namespace kube-system delete configmap kubeadm-config --ignore-not-found
    phase upload-config kubeadm
}
in_background renew_kubeadm_config
in_background phase addon kube-proxy
wait_for_background
# The pods made while 2 and 3 ran (the controller manager leads about a second after the API server is
# ready, and makes the pods 1 deleted soon after): made with the snapshot's kube-proxy configuration, CA or
# tokens, or placed on a kept node before it was held, they go, and their controllers make them anew.
# Usually there are none yet; those made from here on have the restore's. Kept: the mirrors of this node's
# static pods, which its kubelet made at registration from the restore's manifests (a 1.19 kubelet makes a
# deleted one again only at its next sync, a minute on).
delete_pods_made_before() {
    listed=$(ask get pods --all-namespaces -o json | jq -r --arg node "$node" '[.items[] | .metadata + {node: .spec.nodeName}
        | select(.node != $node or .annotations["kubernetes.io/config.mirror"] == null)]
        | group_by(.namespace)[] | "\(.[0].namespace) \(map(.name) | join(" "))"') || return 1
    deletions=
    while read -r namespace names; do
        [ -n "$namespace" ] || continue
        # shellcheck disable=SC2086 # one argument per pod
        admin --namespace "$namespace" delete pods $names --force --grace-period=0 --ignore-not-found &
        deletions="$deletions $!"
    done <<PODS
$listed
PODS
    for deletion in $deletions; do
        wait "$deletion" || return 1
    done
}
in_background delete_pods_made_before
# cluster-info (with the new CA). The bootstrap-token phase mints a token (and prints it: not kept); that
# one and the snapshot's are deleted.
renew_cluster_info() {
    phase bootstrap-token
    admin delete secrets --namespace kube-system --field-selector type=bootstrap.kubernetes.io/token
}
in_background renew_cluster_info

# 4. The control plane's own mirror pods, then kubeadm's own marks on the Node. A kubelet makes a static
# pod's mirror when it syncs that pod with its Node registered. Etcd and the scheduler may have synced last
# before the API server answered, and a kubelet before 1.32 then makes their mirrors only at their next
# sync: a startup probe's first success (10-20 s on), or the minute's resync (before 1.20); 1.32 and later
# make every mirror once the Node is registered. Missing two seconds after that, they are made here as the
# kubelet's mirror client makes them: the kubelet's own pod (its /pods, through the API server), marked the
# mirror of its hash and owned by the Node. The kubelet then finds its mirror and keeps it. Restarting the
# kubelet, as the restore did before, made them too, but started its ten seconds of random first probes
# anew, and the hold (restore-pod-network.sh) waited them out: 10 s more, in about half the restores of
# 1.31.0. It stays as the last resort.
wait_for ask get node "$node"
mirrored_here() {
    ask get pods --all-namespaces --field-selector "spec.nodeName=$node" -o json |
        jq -c '[.items[] | select(.metadata.annotations["kubernetes.io/config.mirror"] != null) | .metadata.name]'
}
mirrors_made() {
    made=$(mirrored_here | jq length) || return 1
    [ "${made:-0}" -ge "$(find /etc/kubernetes/manifests -name '*.yaml' | wc -l)" ]
}
make_missing_mirrors() {
    node_uid=$(ask get node "$node" -o 'jsonpath={.metadata.uid}') || return 1
    mirrored=$(mirrored_here) || return 1
    kubelets=$(ask get --raw "/api/v1/nodes/$node/proxy/pods") || return 1
    missing=$(printf '%s' "$kubelets" |
        jq -c --argjson mirrored "$mirrored" --arg node "$node" --arg uid "$node_uid" '{
            apiVersion: "v1", kind: "List", items: [.items[]
                | select(.metadata.annotations["kubernetes.io/config.source"] == "file")
                | select(.metadata.name as $name | $mirrored | any(.[]; . == $name) | not)
                | del(.status, .metadata.uid, .metadata.resourceVersion, .metadata.creationTimestamp)
                | .apiVersion = "v1" | .kind = "Pod"
                | .metadata.annotations["kubernetes.io/config.mirror"] = .metadata.annotations["kubernetes.io/config.hash"]
                | .metadata.ownerReferences = [{apiVersion: "v1", kind: "Node", name: $node, uid: $uid, controller: true}]]
        }') || return 1
    [ "$(printf '%s' "$missing" | jq '.items | length')" != 0 ] || return 0
    # The kubelet may make one at the same moment: that one is there is all that matters.
    refused=$(printf '%s' "$missing" | admin create -f - 2>&1) || true
    refused=$(printf '%s\n' "$refused" | grep -v -e '^Error from server (AlreadyExists): ' -e '^$' || true)
    [ -z "$refused" ] || { printf '%s\n' "$refused" >&2; return 1; }
}
tries=0
until mirrors_made; do
    tries=$((tries + 1))
    if [ "$tries" -ge 10 ]; then
        echo "the control plane's mirror pods are still missing: its kubelet is restarted to make them" >&2
        systemctl restart kubelet
        break
    fi
    # The kubelet's own first: 1.32 and later make them within a tenth of a second of the Node's registration,
    # and older ones at any pod's sync, which come often in a control plane's first seconds. Made here at the
    # same moment, the kubelet logs that it failed to make one (it then keeps the one made here).
    [ "$tries" -lt 4 ] || make_missing_mirrors || true
    sleep 0.5
done
in_background phase upload-config kubelet
phase mark-control-plane
for taint in "$@"; do
    if ask get node "$node" -o jsonpath='{.spec.taints[*].key}' | tr ' ' '\n' | grep -qx "$taint"; then
        admin taint node "$node" "$taint:NoSchedule-"
    fi
done
wait_for_background
echo restored
