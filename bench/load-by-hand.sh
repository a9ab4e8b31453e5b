#!/bin/sh
# What kindling's image loading is measured against: a local image into a running cluster by hand, as
# the issue puts it, docker save piped into each node's ctr import, one node after the other. Fixed on
# purpose: never optimised along with kindling.
#
#   load-by-hand.sh IMAGE NODE...
set -eu
image=$1
shift
for node in "$@"; do
    docker save "$image" | docker exec -i "$node" ctr --namespace k8s.io images import - >/dev/null
done
