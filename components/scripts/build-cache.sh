#!/bin/sh
# The BuildKit cache records one node image build created, so that destroy removes them.
#
#   build-cache.sh started   print the time (epoch seconds) before the build starts
#   build-cache.sh created   print the ids of the records created since $KINDLING_BUILD_STARTED, newest first
#   build-cache.sh prune     remove the image $KINDLING_BUILT_IMAGE, then the records in $PULUMI_COMMAND_STDOUT
#
# Why by creation time: Docker names no build in its cache, so the records a build created are
# the ones that did not exist before it. Records an earlier build made and this one reused are
# left to their own stack. A build of another project running in the same seconds would be
# counted as ours; its cache would only be rebuilt.
#
# Why the image goes first: BuildKit keeps every record an image still shares, whatever the
# filter; and a record is kept while a newer one builds on it, hence newest first, and a second
# pass for any the first could not yet remove.
set -eu

# Docker runs one disk usage operation at a time and refuses a second at once ("a disk usage operation
# is already running"): another cluster's destroy or check listing its cache in the same second. Such a
# listing is tried again; one that still fails fails the step, rather than reading as an empty cache.
records() {
  said="$(mktemp)"
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    if docker system df -v --format '{{range .BuildCache}}{{println .ID .CreatedAt}}{{end}}' 2>"$said"; then
      rm -f "$said"
      return 0
    fi
    grep -q "already running" "$said" || break
    sleep "${KINDLING_DF_RETRY_SECONDS:-3}"
  done
  echo "cannot list the build cache: $(cat "$said")" >&2
  rm -f "$said"
  return 1
}

# The records of $PULUMI_COMMAND_STDOUT that still exist, in its order.
ours_left() {
  listed="$(records)" || return 1
  present=" $(printf '%s\n' "$listed" | cut -d' ' -f1 | tr '\n' ' ') "
  for id in ${PULUMI_COMMAND_STDOUT:-}; do
    case "$present" in *" $id "*) echo "$id" ;; esac
  done
}

case "${1:-}" in
  started)
    date -u +%s
    ;;
  created)
    since="${KINDLING_BUILD_STARTED:?the time the build started, in epoch seconds}"
    listed="$(records)"
    printf '%s\n' "$listed" | while read -r id created; do
      [ -n "$id" ] || continue
      # CreatedAt reads "2026-12-01 11:54:49.45 +0000 UTC"; date -d takes it without the zone name.
      at="$(date -u -d "${created% UTC}" +%s.%N)"
      if [ "${at%.*}" -ge "$since" ]; then echo "$at $id"; fi
    done | sort -rn | cut -d' ' -f2
    ;;
  prune)
    image="${KINDLING_BUILT_IMAGE:?the image whose build cache this is}"
    # Gone already (by hand, or an earlier destroy that stopped half-way) is not an error.
    if docker image inspect "$image" >/dev/null 2>&1; then
      docker image rm "$image" >/dev/null
    fi
    for _ in 1 2 3; do
      remaining="$(ours_left)"
      [ -n "$remaining" ] || exit 0
      for id in $remaining; do
        # Quiet unless it fails: a Docker CLI without buildx warns on every call that the legacy builder is deprecated.
        said="$(docker builder prune --all --force --filter "id=$id" 2>&1)" || { echo "$said" >&2; exit 1; }
      done
    done
    remaining="$(ours_left)"
    for id in $remaining; do
      echo "build cache record $id is still shared with another image; left in place" >&2
    done
    ;;
  *)
    echo "usage: build-cache.sh started | created | prune" >&2
    exit 2
    ;;
esac
