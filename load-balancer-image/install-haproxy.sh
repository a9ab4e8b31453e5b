#!/bin/sh
# Install HAProxy from the base image's distribution (Ubuntu or Debian), optionally through a
# mirror ($1) that replaces every archive URL in the apt sources, as the node image does.
set -eu
mirror=${1:-}
if [ -n "$mirror" ]; then
    for sources in /etc/apt/sources.list /etc/apt/sources.list.d/*; do
        [ -f "$sources" ] && sed -i -E "s#https?://[^ ]+#${mirror}#g" "$sources"
    done
fi
# The package would start its service; in an image build there is none to start.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends haproxy
apt-get clean
rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d
# The package's own configuration; the image's is written after this layer.
rm -f /etc/haproxy/haproxy.cfg
