#!/bin/sh
# Host side: the API server of machine address $3 (port 6443) published on the host at
# KINDLING_PUBLISH_ADDRESS:KINDLING_PUBLISH_PORT, as `docker run -p ADDRESS:PORT:6443` does for a
# node container: DNAT for connections made on the host (and, for an address beyond loopback, from
# elsewhere), masquerade so the machine answers through its bridge ($2).
#   publish-api-server.sh create|delete BRIDGE MACHINE_ADDRESS
# Loopback needs route_localnet on the bridge (machine-network.sh sets it). Every rule carries the comment
# "kindling BRIDGE api-server"; a create that fails removes what it made. Read after iptables-rules.sh
# (components/node_machine.py).
set -eu
action=$1
bridge=$2
machine=$3
address=$KINDLING_PUBLISH_ADDRESS
port=$KINDLING_PUBLISH_PORT
comment="kindling $bridge api-server"
rules() {
    case "$address" in
        127.*) destination="-d $address" ;;
        0.0.0.0) destination="-m addrtype --dst-type LOCAL" ;;
        *) destination="-d $address" ;;
    esac
    echo "nat OUTPUT $destination -p tcp --dport $port -j DNAT --to-destination $machine:6443"
    echo "nat POSTROUTING -s 127.0.0.0/8 -d $machine -o $bridge -p tcp --dport 6443 -j MASQUERADE"
    case "$address" in
        127.*) ;;
        *)
            echo "nat PREROUTING $destination -p tcp --dport $port -j DNAT --to-destination $machine:6443"
            echo "filter FORWARD -d $machine -o $bridge -p tcp --dport 6443 -j ACCEPT"
            ;;
    esac
}
remove() {
    rules | remove_rules "$comment"  # iptables-rules.sh
}
case "$action" in
    create)
        trap '[ "$?" -eq 0 ] || remove' EXIT
        rules | while read -r table chain rule; do
            # shellcheck disable=SC2086
            iptables -t "$table" -I "$chain" 1 $rule -m comment --comment "$comment"
        done
        ;;
    delete) remove ;;
    *)
        echo "usage: publish-api-server.sh create|delete BRIDGE MACHINE_ADDRESS" >&2
        exit 2
        ;;
esac
