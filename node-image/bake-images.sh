#!/bin/sh
# Bake the container images of /images/*.tar (docker save archives) into the node image's containerd,
# once per node image instead of once per node at every `up` (kind's node images do the same):
#   $1 containerd's config schema version (2 for containerd 1.x, 3 for 2.x).
#
# The images are stored but not unpacked: unpacking needs overlay mounts, which an image build
# cannot make. containerd's CRI unpacks an image the first time a container runs from it.
# Their content lives in the image itself (CONTENT_DIR), linked from containerd's root under /var:
# a node's /var is a fresh volume that Docker fills from the image, and copying a gigabyte of layers
# into it for every node would cost what baking saves. Images pulled later land there too.
set -eu
schema=$1
CONTENT_DIR=/usr/local/share/kindling/containerd-content
ROOT=/var/lib/containerd

set -- /images/*.tar
[ -e "$1" ] || exit 0

mkdir -p "$CONTENT_DIR" "$ROOT"
ln -sfn "$CONTENT_DIR" "$ROOT/io.containerd.content.v1.content"

work=$(mktemp -d)
# Only what storing images needs: the CRI plugins would fail without the mounts a build cannot make.
if [ "$schema" = 3 ]; then
    disabled='"io.containerd.grpc.v1.cri", "io.containerd.cri.v1.images", "io.containerd.cri.v1.runtime"'
else
    disabled='"io.containerd.grpc.v1.cri"'
fi
printf 'version = %s\ndisabled_plugins = [%s]\n' "$schema" "$disabled" > "$work/config.toml"
socket="$work/containerd.sock"
containerd --config "$work/config.toml" --root "$ROOT" --state "$work/state" --address "$socket" \
    > "$work/containerd.log" 2>&1 &
daemon=$!
stop() {
    kill "$daemon" 2>/dev/null || true
    wait "$daemon" 2>/dev/null || true
}
trap 'stop; rm -rf "$work"' EXIT

tries=0
until ctr --address "$socket" version > /dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -gt 300 ] || ! kill -0 "$daemon" 2>/dev/null; then
        echo "kindling: containerd did not start to bake the images:" >&2
        cat "$work/containerd.log" >&2
        exit 1
    fi
    sleep 0.1
done

for archive in "$@"; do
    ctr --address "$socket" --namespace k8s.io images import --no-unpack "$archive"
done
ctr --address "$socket" --namespace k8s.io images list --quiet
stop
# Nothing of the build's own containerd run may reach the nodes but the images.
rm -rf "$ROOT/tmpmounts" "$ROOT/io.containerd.runtime.v1.linux" "$ROOT/io.containerd.runtime.v2.task"
