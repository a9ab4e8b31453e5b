#!/bin/sh
# Host side: stage the node image's build context in directory $1: node-image/ (directory $2)
# without its artifacts/, plus the local artifact files KINDLING_STAGED_FILES lists, one
# "<path in the context><TAB><file on this host>" a line, hard-linked where the filesystem allows,
# and the local Docker images KINDLING_STAGED_IMAGES lists (one a line) as one docker save archive
# in images/, for the image build to bake into the node's containerd.
# It runs when the image is built (never during a preview), is written beside $1 and renamed
# into place, so a context is never half made.
#
# KINDLING_STAGED_STAMP (kindling:keepBuildCache): the tag of the image the context is for. A
# context kept from an earlier up with the same stamp is used as it is: its files, unchanged down
# to their times, let BuildKit skip the transfer and take every step from its cache.
set -eu
target=$1
node_image=$2
partial="$target.partial"
stamp="${KINDLING_STAGED_STAMP:-}"
if [ -n "$stamp" ] && [ "$(cat "$target/.kindling-stamp" 2>/dev/null)" = "$stamp" ]; then
    exit 0
fi
tab=$(printf '\t')
rm -rf "$partial"
mkdir -p "$(dirname "$target")"
cp -R "$node_image" "$partial"
rm -rf "$partial/artifacts" "$partial/images"
mkdir "$partial/artifacts" "$partial/images"
printf '%s\n' "$KINDLING_STAGED_FILES" | while IFS="$tab" read -r destination file; do
    [ -n "$destination" ] || continue
    mkdir -p "$(dirname "$partial/$destination")"
    ln "$file" "$partial/$destination" 2>/dev/null || cp "$file" "$partial/$destination"
done
images=$(printf '%s\n' "${KINDLING_STAGED_IMAGES:-}" | sed '/^$/d')
if [ -n "$images" ]; then
    # shellcheck disable=SC2086 # one image reference a word
    docker save -o "$partial/images/preloaded.tar" $images
fi
if [ -n "$stamp" ]; then
    echo "$stamp" > "$partial/.kindling-stamp"
fi
rm -rf "$target"
mv "$partial" "$target"
