#!/bin/sh
# tools/private-tmpdir.sh COMMAND...: COMMAND with TMPDIR a directory of its own, removed when it ends.
# The kubernetes provider writes the kubeconfig it is given (the cluster's admin credentials) to
# $TMPDIR/kubeconfig<digits> each time it is configured, and never removes it; make up, preview and
# destroy run Pulumi through this, so that no copy outlives the command.
set -eu
parent=${TMPDIR:-/tmp}
private=$(mktemp -d "$parent/kindling-pulumi.XXXXXX")
trap 'rm -rf "$private"' EXIT
# Pulumi stops at its own pace on Ctrl-C; the shell waits for it before the trap runs.
trap 'exit 130' INT
trap 'exit 143' TERM
TMPDIR=$private "$@"
