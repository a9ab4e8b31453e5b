#!/bin/sh
# Host side: the local Docker image $KINDLING_IMAGE, whose id on this engine is $KINDLING_IMAGE_ID, in
# the containerd of nodes $2..., in the namespace the kubelet uses (`kind load docker-image`'s job, for
# kindling:images and make load). KINDLING_NODE_CONTAINERS holds the nodes' container ids, in the same
# order: the containers meant, not whatever runs under a node's name by then.
#
#   images-into-nodes.sh load NODE...     one docker save, read at once by every node that does not hold
#                                          that image id yet; the others are only looked at
#   images-into-nodes.sh remove NODE...   the image out of every node, still running, that kindling loaded it into
#
# The node-side half, image-in-node.sh, arrives in KINDLING_NODE_SCRIPT; it says what "holds" means.
# Prints one line per node; a node that fails is named on stderr with what its import said.
#
# Why docker save writes a file ($TMPDIR, the image's size, removed at the end) that every node reads
# at its own pace, and not a pipe through tee: tee goes at the pace of the slowest node, and one node
# whose import fails would stop it for all. Each node copies the archive into a file of its own before
# importing it (image-in-node.sh says why). Measured on 1.19.1, 1+3 nodes, a 200 MB image, on 2 busy
# cores: 14-15 s from one file, 20-35 s through tee, 35-40 s by hand (docker save piped into each
# node's ctr import, node after node).
set -eu
mode=$1
shift
image=$KINDLING_IMAGE
id=$KINDLING_IMAGE_ID
node_script=$KINDLING_NODE_SCRIPT
containers=$KINDLING_NODE_CONTAINERS
# shellcheck disable=SC2086 # one id a word
if [ "$(printf '%s\n' $containers | grep -c .)" != "$#" ]; then
    echo "KINDLING_NODE_CONTAINERS names $(printf '%s\n' $containers | grep -c .) containers for $# nodes" >&2
    exit 2
fi

# The name containerd gives the image: Docker's normalisation (kindling/local_images.py, the same in Python).
case $image in
    */*) first=${image%%/*} ;;
    *) first="" ;;
esac
case $first in
    "") name="docker.io/library/$image" ;;
    *.* | *:* | localhost) name=$image ;;
    *) name="docker.io/$image" ;;
esac

container() {  # container N: the container id of the Nth node
    # shellcheck disable=SC2086
    printf '%s\n' $containers | sed -n "${1}p"
}

in_node() {  # in_node N MODE: image-in-node.sh MODE in the Nth node, stdin passed through
    docker exec -i "$(container "$1")" /bin/sh -c "$node_script" image-in-node.sh "$2" "$name" "$id"
}

# What docker save would write now must be the image the caller resolved: else the mark would lie.
same_image() {
    now=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null) || now=""
    [ "$now" = "$id" ] && return 0
    echo "$image is ${now:-not an image of this Docker engine} now, not $id as planned; load it again (up, or make load)" >&2
    return 1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

load() {
    same_image
    # Each node asked at once whether it holds the image already.
    n=0
    for node in "$@"; do
        n=$((n + 1))
        { if in_node "$n" holds </dev/null >/dev/null 2>&1; then touch "$work/$node.held"; fi; } &
    done
    wait
    need=""
    for node in "$@"; do
        if [ -e "$work/$node.held" ]; then
            echo "$node: holds $image ($id) already"
        else
            need="$need $node"
        fi
    done
    [ -n "$need" ] || return 0
    if ! docker save -o "$work/image.tar" "$image" 2>"$work/save.err"; then
        echo "docker save $image failed: $(cat "$work/save.err")" >&2
        return 1
    fi
    same_image
    n=0
    for node in "$@"; do
        n=$((n + 1))
        if [ ! -e "$work/$node.held" ]; then
            in_node "$n" import <"$work/image.tar" >"$work/$node.out" 2>&1 &
            echo $! >"$work/$node.pid"
        fi
    done
    failed=0
    for node in $need; do
        if wait "$(cat "$work/$node.pid")"; then
            echo "$node: loaded $image ($id)"
        else
            echo "$node: loading $image failed: $(cat "$work/$node.out")" >&2
            failed=1
        fi
    done
    return "$failed"
}

remove() {
    n=0
    for node in "$@"; do
        n=$((n + 1))
        {
            # A node gone already (destroyed, or replaced by another container) holds nothing to remove.
            if [ "$(docker container inspect --format '{{.State.Running}}' "$(container "$n")" 2>/dev/null)" != true ]; then
                echo "$node: not running, nothing to remove" >"$work/$node.out"
            elif in_node "$n" remove </dev/null >"$work/$node.out" 2>&1; then
                echo "$node: removed $image" >>"$work/$node.out"
            else
                touch "$work/$node.failed"
            fi
        } &
    done
    wait
    failed=0
    for node in "$@"; do
        if [ -e "$work/$node.failed" ]; then
            echo "$node: removing $image failed: $(cat "$work/$node.out")" >&2
            failed=1
        else
            cat "$work/$node.out"
        fi
    done
    return "$failed"
}

case $mode in
    load) load "$@" ;;
    remove) remove "$@" ;;
    *)
        echo "usage: images-into-nodes.sh load|remove NODE..." >&2
        exit 2
        ;;
esac
