#!/bin/sh
# The floor kindling is measured against: what a docker_archive user does by hand, with the same
# node image, container flags, kubeadm configuration and CNI chart as the kindling stack. Fixed on
# purpose: never optimised along with kindling.
#
#   floor.sh up DIR     DIR holds what bench/floor.py prepared (see below); exits once kubeadm
#                       init/join and helm install of flannel are done (the bench then waits for
#                       every node Ready and DNS from a pod, the same way for both contenders)
#   floor.sh down DIR   removes the containers and the network
#
# DIR: env (NETWORK, SUBNET, GATEWAY, IMAGE, NODES "name ip role" lines),
# run-<node> (the node's docker run flags, one a line), images-<role> (the images a node of that
# role runs, one a line), init.yaml, join.yaml (@KINDLING_JOIN_TOKEN@ and @KINDLING_CA_CERT_HASH@
# stand for the values kubeadm mints), flannel.tgz and flannel-values.yaml.
set -eu
command=$1
dir=$2
# shellcheck source=/dev/null
. "$dir/env"
control_plane=$(printf '%s\n' "$NODES" | awk '$3 == "control-plane" { print $1 }')

down() {
    printf '%s\n' "$NODES" | while read -r name _ _; do
        docker rm -f -v "$name" >/dev/null 2>&1 || true
    done
    docker network rm "$NETWORK" >/dev/null 2>&1 || true
}

wait_for() {  # wait_for <seconds> <command...>: poll each second until the command succeeds
    limit=$1
    shift
    deadline=$(($(date +%s) + limit))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || { echo "floor: gave up waiting for: $*" >&2; return 1; }
        sleep 1
    done
}

up() {
    docker network create --subnet "$SUBNET" --gateway "$GATEWAY" \
        --opt com.docker.network.bridge.enable_ip_masquerade=true "$NETWORK" >/dev/null
    printf '%s\n' "$NODES" | while read -r name ip _; do
        # shellcheck disable=SC2046  # one flag a line, as prepared
        docker run --detach --name "$name" --hostname "$name" --network "$NETWORK" --ip "$ip" \
            $(cat "$dir/run-$name") "$IMAGE" >/dev/null
    done
    printf '%s\n' "$NODES" | while read -r name _ role; do
        wait_for 180 sh -c "docker exec $name systemctl is-system-running | grep -Eq 'running|degraded'"
        # shellcheck disable=SC2046
        docker save $(cat "$dir/images-$role") | docker exec -i "$name" ctr -n k8s.io images import - >/dev/null
    done
    docker exec -i "$control_plane" sh -c 'mkdir -p /etc/kindling && cat > /etc/kindling/kubeadm.yaml' < "$dir/init.yaml"
    docker exec "$control_plane" kubeadm init --config /etc/kindling/kubeadm.yaml --skip-phases=preflight \
        --skip-token-print >/dev/null
    printf '%s\n' "$NODES" | awk '$3 == "worker" { print $1 }' | while read -r worker; do
        join=$(docker exec "$control_plane" kubeadm token create --ttl 15m --print-join-command)
        token=$(printf '%s\n' "$join" | sed -n 's/.*--token \([^ ]*\).*/\1/p')
        hash=$(printf '%s\n' "$join" | sed -n 's/.*--discovery-token-ca-cert-hash \([^ ]*\).*/\1/p')
        sed -e "s|@KINDLING_JOIN_TOKEN@|$token|" -e "s|@KINDLING_CA_CERT_HASH@|$hash|" "$dir/join-$worker.yaml" |
            docker exec -i "$worker" sh -c 'mkdir -p /etc/kindling && cat > /etc/kindling/join.yaml &&
                kubeadm join --config /etc/kindling/join.yaml --skip-phases=preflight' >/dev/null
    done
    docker cp "$dir/flannel.tgz" "$control_plane:/root/flannel.tgz"
    docker cp "$dir/flannel-values.yaml" "$control_plane:/root/flannel-values.yaml"
    docker exec "$control_plane" helm --kubeconfig /etc/kubernetes/admin.conf install flannel /root/flannel.tgz \
        --namespace kube-flannel --create-namespace --values /root/flannel-values.yaml --wait --timeout 10m >/dev/null
}

case "$command" in
    up) up ;;
    down) down ;;
    *) echo "usage: floor.sh up|down DIR" >&2; exit 2 ;;
esac
