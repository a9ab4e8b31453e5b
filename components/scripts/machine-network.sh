#!/bin/sh
# Host side: the bridge of a cluster whose nodes are systemd-nspawn machines, and its iptables rules.
#   machine-network.sh create BRIDGE GATEWAY/PREFIX SUBNET: the bridge with the gateway address, and
#     route_localnet on it alone (as Docker sets it on its bridge), so that the API server published on
#     127.0.0.1 reaches a machine (publish-api-server.sh); the
#     nodes' egress masqueraded; forwarding from the bridge, and replies into it; every other new
#     connection into the bridge dropped (the API server is published by its own rule, on the host);
#   machine-network.sh delete BRIDGE SUBNET: the rules and the bridge gone.
# Each rule carries the comment "kindling BRIDGE", so any left behind can be found. A create that
# fails removes what it made. Read after iptables-rules.sh (components/machine_network.py).
set -eu
action=$1
bridge=$2
# table, then the rule, one a line; inserted in this order at the top of FORWARD (so the last comes first).
rules() {
    cat <<RULES
nat POSTROUTING -s $subnet ! -o $bridge -j MASQUERADE
filter FORWARD -o $bridge -j DROP
filter FORWARD -o $bridge -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
filter FORWARD -i $bridge -j ACCEPT
RULES
}
remove() {
    rules | remove_rules "kindling $bridge"  # iptables-rules.sh
    ip link delete "$bridge" 2>/dev/null || true
}
case "$action" in
    create)
        gateway=$3
        subnet=$4
        trap '[ "$?" -eq 0 ] || remove' EXIT
        ip link add "$bridge" type bridge
        ip address add "$gateway" dev "$bridge"
        sysctl -qw "net/ipv4/conf/$bridge/route_localnet=1"  # slashes: an interface name may hold dots
        ip link set "$bridge" up
        rules | while read -r table chain rule; do
            if [ "$chain" = FORWARD ]; then position=1; else position=""; fi
            # shellcheck disable=SC2086
            iptables -t "$table" -I "$chain" $position $rule -m comment --comment "kindling $bridge"
        done
        ;;
    delete)
        subnet=$3
        remove
        ;;
    *)
        echo "usage: machine-network.sh create BRIDGE GATEWAY/PREFIX SUBNET | delete BRIDGE SUBNET" >&2
        exit 2
        ;;
esac
