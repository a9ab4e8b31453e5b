#!/bin/sh
# Packets that pods send to the cluster's Service range and that kube-proxy did not translate to an
# endpoint (a port the Service does not have, an address no Service holds) must not leave the node.
# Routed on to the Docker host, they reach whatever answers there: on a host whose egress proxy
# accepts every connection on port 80, a Service port just removed still looked open. They are
# refused here instead, with a TCP reset or an ICMP port unreachable, as kube-proxy's nftables mode
# refuses them itself (its cluster-ips-check chain); its iptables mode, kindling's, routes them on.
# Only forwarded packets are checked: by then nat PREROUTING has given those that kube-proxy
# translated an endpoint's address, and the node's own traffic (which IPVS delivers locally) is
# left alone.
#   $1, when given, is the cluster's service subnet, kept for the node's later boots; without it
#   (the entrypoint, at every boot) the kept one is used, and a node not in a cluster yet has none.
# SERVICE_SUBNET_FILE exists for tests.
set -eu
kept=${SERVICE_SUBNET_FILE:-/etc/kindling/service-subnet}
chain=KINDLING-SERVICE-IPS
if [ $# -gt 0 ]; then
    subnet=$1
    mkdir -p "$(dirname "$kept")"
    printf '%s\n' "$subnet" > "$kept"
elif [ -s "$kept" ]; then
    subnet=$(cat "$kept")
else
    exit 0
fi
iptables -w -N "$chain" 2>/dev/null || iptables -w -F "$chain"
iptables -w -A "$chain" -d "$subnet" -p tcp -j REJECT --reject-with tcp-reset
iptables -w -A "$chain" -d "$subnet" -j REJECT --reject-with icmp-port-unreachable
# First in FORWARD, ahead of the CNI's rules that accept everything from the pod network.
iptables -w -C FORWARD -j "$chain" 2>/dev/null || iptables -w -I FORWARD -j "$chain"
