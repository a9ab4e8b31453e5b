#!/bin/sh
# Node side of images-into-nodes.sh: one image in this node's containerd, in the kubelet's namespace.
#
#   image-in-node.sh holds NAME ID    exit 0 when NAME is the image kindling loaded as Docker image ID
#   image-in-node.sh import NAME ID   import the docker save archive on stdin as NAME (unpacked, so a pod
#                                     starts from it at once), mark it as ID, and forget what NAME was before
#                                     (the archive passes through a file in /var/tmp, removed at the end)
#   image-in-node.sh remove NAME ID   remove NAME if kindling loaded it, with the id reference CRI made for it
#
# NAME is the image's name in containerd (docker.io/library/app:dev). Why a mark: docker save writes a
# manifest of its own, which containerd's import rewrites, so no digest in the node is Docker's image
# id. After an import, NAME is labelled kindling.loaded=ID@TARGET, TARGET being the manifest the import
# gave NAME. NAME holds ID while both agree: a pull or an import by hand moves NAME to another target,
# and the mark no longer matches; a failed import never leaves a mark on a new target.
#
# ctr's flags here are the same from containerd 1.3 to 2.x: import from a file unpacks into the default
# snapshotter (the CRI's), `images label` sets one label, and `images ls` prints
# REF TYPE DIGEST SIZE (two words) PLATFORMS LABELS (k=v,k=v, or -).
#
# Why the archive is copied into a file before ctr reads it, rather than given to ctr on stdin: ctr
# sends each read of its input to containerd as one write of a gRPC stream, and waits for the answer
# before the next. Read from a pipe (docker exec's stdin), a read returns at most 64 KiB (strace: 40 KiB
# on average), so a 200 MB archive takes some 5000 round trips; read from a file, 1 MiB at a time, some
# 200. Measured on 1.19.1 (containerd 1.4.0), 200 MB into one node: 3.1-4.9 CPU seconds in the node
# from stdin, 1.9-2.2 through a file, copy included. /var/tmp is on the node's /var volume (disk), as
# /tmp is a tmpfs (memory): the node needs the image's size free there for the time of the import.
set -eu
mode=$1
name=$2
id=$3
label=kindling.loaded

images() { ctr --namespace k8s.io images "$@"; }

# "TARGET LABELS" of NAME; nothing when containerd has no image of that name.
listed() { images ls | awk -v name="$name" '$1 == name { print $3, $NF }'; }

# CRI names each image by its id as well (sha256:<config digest>, the same target), and keeps that name
# when the image's own name moves on. It goes with the last other name of TARGET, or containerd would
# keep the old image's content for good (the kubelet's image GC is off in kindling's nodes).
forget() {
    [ -z "$(images ls | awk -v target="$1" '$3 == target && $1 !~ /^sha256:/')" ] || return 0
    for reference in $(images ls | awk -v target="$1" '$3 == target { print $1 }'); do
        images rm "$reference" >/dev/null
    done
}

case $mode in
    holds)
        # shellcheck disable=SC2046 # two words: the target and the labels
        set -- $(listed)
        [ $# -eq 2 ] || exit 1
        case ",$2," in
            *",$label=$id@$1,"*) exit 0 ;;
        esac
        exit 1
        ;;
    import)
        # shellcheck disable=SC2046
        set -- $(listed)
        before=${1:-}
        # TMPDIR: for the tests' stand-in nodes; kindling's nodes set none.
        archive=$(mktemp "${TMPDIR:-/var/tmp}/kindling-image.XXXXXX")
        trap 'rm -f "$archive"' EXIT
        trap 'exit 1' HUP INT TERM
        cat >"$archive"
        images import "$archive" >/dev/null
        rm -f "$archive"
        # shellcheck disable=SC2046
        set -- $(listed)
        if [ $# -ne 2 ]; then
            echo "the archive held no image named $name" >&2
            exit 1
        fi
        images label "$name" "$label=$id@$1" >/dev/null
        # A rebuild under the same tag: the image NAME was before is no one's any more.
        if [ -n "$before" ] && [ "$before" != "$1" ]; then forget "$before"; fi
        ;;
    remove)
        # shellcheck disable=SC2046
        set -- $(listed)
        [ $# -eq 2 ] || exit 0 # gone already
        case ",$2," in
            *",$label="*) ;;
            *)
                echo "$name was not loaded by kindling; left in place" >&2
                exit 0
                ;;
        esac
        images rm "$name" >/dev/null
        forget "$1"
        ;;
    *)
        echo "usage: image-in-node.sh holds|import|remove NAME ID" >&2
        exit 2
        ;;
esac
