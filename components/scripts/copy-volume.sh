#!/bin/sh
# Host side: copy volume $1 into volume $2 with image $3's cp: owners, modes, links and extended attributes
# (the overlay attributes of containerd's unpacked layers among them, hence CAP_SYS_ADMIN) as they are.
set -eu
docker run --rm --network none --cap-add SYS_ADMIN --entrypoint cp \
    --volume "$1:/from:ro" --volume "$2:/to" "$3" -a /from/. /to/
