#!/bin/sh
# Host side: the network namespace a systemd-nspawn machine joins, so its address outlives restarts.
#   machine-namespace.sh create NAMESPACE VETH BRIDGE ADDRESS/PREFIX GATEWAY: the namespace, with one
#     end of a veth pair as its eth0 at the node's fixed address, the other end (VETH) on the bridge;
#   machine-namespace.sh delete NAMESPACE VETH: both gone.
# A create that fails leaves neither behind.
set -eu
action=$1
namespace=$2
veth=$3
remove() {
    ip netns delete "$namespace" 2>/dev/null || true
    # Deleting the namespace deletes the pair; a veth left on the host by a failed create goes here.
    ip link delete "$veth" 2>/dev/null || true
}
case "$action" in
    create)
        bridge=$4
        address=$5
        gateway=$6
        trap '[ "$?" -eq 0 ] || remove' EXIT
        ip netns add "$namespace"
        ip link add "$veth" type veth peer name eth0 netns "$namespace"
        ip link set "$veth" master "$bridge" up
        ip -n "$namespace" link set lo up
        ip -n "$namespace" address add "$address" dev eth0
        ip -n "$namespace" link set eth0 up
        ip -n "$namespace" route add default via "$gateway"
        ;;
    delete)
        remove
        ;;
    *)
        echo "usage: machine-namespace.sh create NAMESPACE VETH BRIDGE ADDRESS/PREFIX GATEWAY | delete NAMESPACE VETH" >&2
        exit 2
        ;;
esac
