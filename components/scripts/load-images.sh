#!/bin/sh
# Host side: load local Docker images ($2...) into the containerd of node container $1, in the
# namespace the kubelet uses, so pods start from them without any registry (`kind load`'s job).
# One stream from docker save into ctr: nothing is written to disk twice.
set -eu
node=$1
shift
docker save "$@" | docker exec -i "$node" ctr --namespace k8s.io images import -
