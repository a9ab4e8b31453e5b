#!/bin/sh
# Host side: the root filesystem of a systemd-nspawn machine, as a directory.
#   machine-rootfs.sh create IMAGE DIRECTORY: the node image's files (docker export of a container
#     created from it, never started), unpacked into DIRECTORY;
#   machine-rootfs.sh delete DIRECTORY: removed, and the cluster's directory with it once empty.
# A create that fails leaves neither the directory nor the container behind.
set -eu
action=$1
case "$action" in
    create)
        image=$2
        rootfs=$3
        partial="$rootfs.partial"
        container=""
        cleanup() {
            [ -z "$container" ] || docker rm --force "$container" >/dev/null 2>&1 || true
            rm -rf --one-file-system "$partial"
        }
        trap cleanup EXIT
        mkdir -p "$(dirname "$rootfs")"
        rm -rf --one-file-system "$partial"
        mkdir "$partial"
        container=$(docker create "$image")
        # --numeric-owner: the image's ids, not the host's names for them.
        docker export "$container" | tar --extract --numeric-owner --xattrs --directory "$partial"
        mv "$partial" "$rootfs"
        ;;
    delete)
        rootfs=$2
        # --one-file-system: a bind a machine still held (the host's /lib/modules) is never followed.
        rm -rf --one-file-system "$rootfs" "$rootfs.partial"
        rmdir "$(dirname "$rootfs")" 2>/dev/null || true
        ;;
    *)
        echo "usage: machine-rootfs.sh create IMAGE DIRECTORY | delete DIRECTORY" >&2
        exit 2
        ;;
esac
