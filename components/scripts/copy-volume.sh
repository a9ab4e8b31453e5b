#!/bin/sh
# Host side: fill volume $2 from volume $1 in a container of image $3 (so that nothing is pulled), with
# fill-volume.sh, which arrives in KINDLING_NODE_SCRIPT; CAP_SYS_ADMIN for the overlay attributes of
# containerd's unpacked layers. Those layers, most of a node's /var and never written once unpacked, are
# hard-linked where both volumes lie in one directory of the engine's (its local driver's volumes): the
# fill then costs a second, not a gigabyte. Elsewhere (another driver, an engine in a VM whose
# directories cannot be bound) everything is copied.
set -eu
layers=lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots
from=$(docker volume inspect --format '{{.Mountpoint}}' "$1")
to=$(docker volume inspect --format '{{.Mountpoint}}' "$2")
volumes=$(dirname "$(dirname "$from")")
# Only a plain local volume is its directory: one with mount options (tmpfs, nfs) is mounted there only
# while a container uses it.
plain() { [ "$(docker volume inspect --format '{{.Driver}} {{len .Options}}' "$1")" = "local 0" ]; }
# The node image declares /var a volume: without a mount there, docker would make an anonymous volume and
# copy the image's /var into it at every fill (0.7 s of the fill's 0.9 s start here), for nothing.
fill() {
    docker run --rm --network none --cap-add SYS_ADMIN --mount type=tmpfs,destination=/var --entrypoint /bin/sh "$@"
}
if plain "$1" && plain "$2" && [ "$volumes" = "$(dirname "$(dirname "$to")")" ] && [ "$volumes" != / ] &&
    fill --volume "$volumes:/volumes" "$3" -c "$KINDLING_NODE_SCRIPT" fill-volume.sh \
        "/volumes/${from#"$volumes/"}" "/volumes/${to#"$volumes/"}" "$layers"; then
    exit 0
fi
fill --volume "$1:/from:ro" --volume "$2:/to" "$3" -c "$KINDLING_NODE_SCRIPT" fill-volume.sh /from /to
