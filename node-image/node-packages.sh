#!/bin/sh
# Install what a node needs from the base image's distribution (Ubuntu or Debian),
# optionally through a mirror ($1) that replaces every archive URL in the apt sources.
set -eu
mirror=${1:-}
if [ -n "$mirror" ]; then
    for sources in /etc/apt/sources.list /etc/apt/sources.list.d/*; do
        [ -f "$sources" ] && sed -i -E "s#https?://[^ ]+#${mirror}#g" "$sources"
    done
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
    systemd systemd-sysv dbus ca-certificates curl \
    iptables nftables ipset iproute2 ethtool socat conntrack ebtables kmod \
    util-linux mount procps libseccomp2 jq libcap2-bin
apt-get clean
rm -rf /var/lib/apt/lists/*

# Units that have nothing to do in a container and would only fail there.
systemctl mask \
    systemd-udevd.service systemd-udevd-kernel.socket systemd-udevd-control.socket \
    systemd-udev-trigger.service systemd-modules-load.service systemd-remount-fs.service \
    getty.target console-getty.service sys-kernel-config.mount sys-kernel-debug.mount \
    sys-kernel-tracing.mount systemd-firstboot.service
systemctl set-default multi-user.target
# Each node gets its own machine id when it first boots (see kindling-entrypoint).
: > /etc/machine-id
