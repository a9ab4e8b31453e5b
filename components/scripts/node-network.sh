#!/bin/sh
# Host side: the cluster's Docker network $2, which its docker.Network resource makes.
#   made:   wait until the network exists (the nodes, made after this, attach to it).
#   remove: remove it (the nodes, which depend on this, are gone by then); one already gone is fine.
# Why: pulumi-docker reads a network back only two seconds after it made it, a delay fixed in its code, and
# nodes that waited for the resource waited for that read. A restore's nodes are otherwise ready in about a
# second; they attach as soon as the network exists. The resource keeps (retains) the network at a destroy,
# since it may be deleted before the nodes that no longer depend on it; this removes it after them.
set -eu
action=$1
network=$2
case $action in
made)
    deadline=$(($(date +%s) + ${NETWORK_WAIT_SECONDS:-120}))
    until docker network inspect "$network" >/dev/null 2>&1; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "the Docker network $network was not made within ${NETWORK_WAIT_SECONDS:-120}s (see the network resource's error)" >&2
            exit 1
        fi
        sleep 0.05
    done
    ;;
remove)
    if ! removed=$(docker network rm "$network" 2>&1); then
        # Gone already (removed by hand, or never made): nothing left to remove.
        docker network inspect "$network" >/dev/null 2>&1 || exit 0
        echo "$removed" >&2
        exit 1
    fi
    ;;
*)
    echo "usage: node-network.sh made|remove NETWORK" >&2
    exit 2
    ;;
esac
