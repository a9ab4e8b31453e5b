#!/bin/sh
# Host side: load local Docker images ($2...) into the containerd of node container $1, in the
# namespace the kubelet uses, so pods start from them without any registry (`kind load`'s job).
# The archive goes through the node's /var volume: /tmp is a tmpfs and images can be large.
set -eu
node=$1
shift
docker save "$@" | docker exec -i "$node" /bin/sh -c '
    set -eu
    archive=$(mktemp /var/tmp/kindling-images.XXXXXX)
    trap "rm -f \"$archive\"" EXIT
    cat > "$archive"
    ctr --namespace k8s.io images import "$archive"
'
