#!/bin/sh
# Point iptables and ip6tables at the backend (legacy or nft) that already holds this container's
# rules (Docker's embedded DNS puts some there), so the kubelet and kube-proxy do not write to the
# other one, where nothing would see them. Ties go to nft. Prints the backend it chose.
set -eu
if ! command -v iptables-legacy >/dev/null || ! command -v iptables-nft >/dev/null; then
    exit 0  # one backend only: nothing to choose
fi
legacy=$( (iptables-legacy-save; ip6tables-legacy-save) 2>/dev/null | grep -c '^-' || true)
nft=$( (iptables-nft-save; ip6tables-nft-save) 2>/dev/null | grep -c '^-' || true)
mode=nft
[ "$legacy" -gt "$nft" ] && mode=legacy
update-alternatives --set iptables "/usr/sbin/iptables-$mode" >/dev/null
update-alternatives --set ip6tables "/usr/sbin/ip6tables-$mode" >/dev/null
echo "$mode"
