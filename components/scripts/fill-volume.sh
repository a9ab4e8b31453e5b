#!/bin/sh
# Container side of copy-volume.sh: fill directory $2 from directory $1 as it is (owners, modes, links and
# extended attributes: the overlay attributes of containerd's unpacked layers among them). The files
# under $3, a path relative to both (given only where both lie on one filesystem), are hard-linked, not
# copied: the restore shares them with the snapshot, so only what nothing writes in place may be there.
set -eu
from=$1
to=$2
linked=${3:-}
# Emptied first: a fill that failed half way leaves nothing behind, least of all a linked file that a
# copy over it would write through into the snapshot.
find "$to" -mindepth 1 -delete
if [ -z "$linked" ]; then
    cp -a "$from/." "$to/"
else
    # Sockets are left out (their servers make them anew), and said nothing of.
    tar -C "$from" --exclude "./$linked" --warning no-file-ignored --xattrs --xattrs-include "*" -cf - . |
        tar -C "$to" --xattrs --xattrs-include "*" -xpf -
    if [ -d "$from/$linked" ]; then
        mkdir -p "$(dirname "$to/$linked")"
        cp -al "$from/$linked" "$to/$linked"
    fi
fi
# What named the snapshot's node is not the restored node's: D-Bus's machine id (the node's entrypoint
# would take it for its own, so every node restored from one snapshot would share it), and the journal
# kept under that id (the restored node's begins at its own first boot).
rm -rf "$to/lib/dbus/machine-id" "$to/log/journal/"*
