#!/bin/sh
# Pods inherit the node's resolv.conf, but Docker's embedded DNS (127.0.0.11) answers only on the
# node's own loopback, which a pod's 127.0.0.11 is not: CoreDNS would forward to itself and stop
# on its loop check. Move the resolver to the network's gateway address: resolv.conf points there,
# and Docker's NAT rules for 127.0.0.11 now match that address, both for the node's own queries
# (OUTPUT) and for those routed from pods (PREROUTING, which needs route_localnet to reach a
# loopback address). RESOLV_CONF and PROC_SYS exist for tests.
set -eu
resolv_conf=${RESOLV_CONF:-/etc/resolv.conf}
proc_sys=${PROC_SYS:-/proc/sys}
embedded_dns=127.0.0.11
gateway=$(ip -4 route show default | awk '{ print $3; exit }')
if ! grep -q "^nameserver $embedded_dns\$" "$resolv_conf" || [ -z "$gateway" ]; then
    exit 0  # not on a user-defined Docker network: nothing to move
fi
iptables-save -t nat | sed "s#-d $embedded_dns/32#-d $gateway/32#g" | iptables-restore
iptables -t nat -A PREROUTING -d "$gateway/32" -j DOCKER_OUTPUT
echo 1 > "$proc_sys/net/ipv4/conf/all/route_localnet"
# resolv.conf is a bind mount: rewrite it in place.
resolv=$(sed "s/^nameserver $embedded_dns\$/nameserver $gateway/" "$resolv_conf")
printf '%s\n' "$resolv" > "$resolv_conf"
