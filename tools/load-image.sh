#!/bin/sh
# make load STACK=<stack> IMAGE='app:dev [other:1]': local Docker images into every node of a running
# cluster, now, without a Pulumi update (kind load docker-image's loop: build, load, restart the pods).
# The same streaming as kindling:images (components/scripts/images-into-nodes.sh): one docker save per
# image, to every node at once, skipping nodes that hold that image id already; so a later up that
# lists the image finds it loaded, and loading it twice costs a look.
set -eu
cd "$(dirname "$0")/.."
stack=${1:-}
[ -n "$stack" ] && shift
if [ -z "$stack" ] || [ $# -eq 0 ]; then
    echo "usage: make load STACK=<stack> IMAGE='app:dev [other:1]'" >&2
    exit 2
fi

# The stack's nodes, as kindling labels them (not its load balancer), with their container ids.
nodes=""
containers=""
listed=$(docker ps --no-trunc --filter "label=kindling.cluster=$stack" \
    --format '{{.ID}} {{.Names}} {{.Label "kindling.role"}}')
while read -r container node role; do
    case $role in
        control-plane | worker)
            nodes="$nodes $node"
            containers="$containers $container"
            ;;
    esac
done <<EOF
$listed
EOF
if [ -z "$nodes" ]; then
    echo "no node of stack $stack is running; make up STACK=$stack first" >&2
    exit 1
fi

for image in "$@"; do
    case $image in
        *@*)
            echo "$image names a digest, which docker save does not keep: give its tag (name:tag)" >&2
            exit 2
            ;;
    esac
    case ${image##*/} in
        *:latest | *:) echo "warning: $image is tagged latest: a pod pulls it from its registry unless its imagePullPolicy is IfNotPresent or Never" >&2 ;;
        *:*) ;;
        *) echo "warning: $image has no tag (it is latest): a pod pulls it from its registry unless its imagePullPolicy is IfNotPresent or Never" >&2 ;;
    esac
    if ! id=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null); then
        echo "$image is not an image of this Docker engine; build it first (docker build -t $image .)" >&2
        exit 1
    fi
    # shellcheck disable=SC2086 # one node a word
    KINDLING_IMAGE=$image KINDLING_IMAGE_ID=$id KINDLING_NODE_CONTAINERS=$containers \
        KINDLING_NODE_SCRIPT=$(cat components/scripts/image-in-node.sh) \
        sh components/scripts/images-into-nodes.sh load $nodes
done
