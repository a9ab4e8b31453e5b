#!/bin/sh
# Install the node's binaries from upstream release files, each checked against
# its sha256 before it is used. Reads two build arguments:
#   KINDLING_DOWNLOADS  lines "<source> <base URL, or dir for /artifacts/<source>>"
#   KINDLING_ARTIFACTS  lines "<name> <source> <path> <checksum> <install>", where
#     <path> is below the source's base and {arch} stands for this machine's architecture,
#     <checksum> is file:<path of the publisher's checksum file> or pinned:<arch>=<sha256>,...
#     <install> is bin:<destination>, untar:<directory> or untar-member:<member>:<destination>.
# ARTIFACT_ROOT (default /artifacts) and DESTDIR (default empty) exist for tests.
set -eu
arch=$(dpkg --print-architecture)
work=$(mktemp -d)
root=${ARTIFACT_ROOT:-/artifacts}
destdir=${DESTDIR:-}

base_of() {
    printf '%s\n' "$KINDLING_DOWNLOADS" | awk -v source="$1" '$1 == source { print $2 }'
}

# fetch <source> <path> <destination file>
fetch() {
    base=$(base_of "$1")
    if [ "$base" = dir ]; then
        if [ ! -f "$root/$1/$2" ]; then
            echo "kindling: $2 is missing from the local $1 directory" >&2
            return 1
        fi
        cp "$root/$1/$2" "$3"
    else
        if ! curl -fsSL --retry 3 --connect-timeout 20 -o "$3" "$base/$2"; then
            echo "kindling: cannot download $base/$2 (set kindling:downloads.$1 to a mirror or a directory)" >&2
            return 1
        fi
    fi
}

# sha256_for <file name> <checksum file>: publishers write a bare hash, "hash  name"
# lines (with "*" or a directory before the name, for some), or (runc) a PGP-signed
# list of such lines. Take the hash on the line naming our file, else a lone bare hash.
sha256_for() {
    awk -v name="$1" '
        function is_sha256(text) { return length(text) == 64 && text ~ /^[0-9a-f]+$/ }
        is_sha256($1) && NF >= 2 {
            listed = $NF; sub(/^\*/, "", listed); sub(/.*\//, "", listed)
            if (listed == name) { print $1; found = 1; exit }
        }
        is_sha256($1) && NF == 1 { bare[++bares] = $1 }
        END { if (!found && bares == 1) print bare[1] }
    ' "$2"
}

printf '%s\n' "$KINDLING_ARTIFACTS" | while read -r name source path checksum install; do
    [ -n "$name" ] || continue
    path=$(printf '%s' "$path" | sed "s/{arch}/$arch/g")
    install=$(printf '%s' "$install" | sed "s/{arch}/$arch/g")
    file="$work/$(basename "$path")"
    fetch "$source" "$path" "$file"
    case "$checksum" in
        file:*)
            sums="$work/checksums"
            fetch "$source" "$(printf '%s' "${checksum#file:}" | sed "s/{arch}/$arch/g")" "$sums"
            expected=$(sha256_for "$(basename "$path")" "$sums")
            ;;
        pinned:*)
            expected=$(printf '%s' "${checksum#pinned:}" | tr ',' '\n' | sed -n "s/^$arch=//p")
            ;;
        *)
            expected=""
            ;;
    esac
    if [ -z "$expected" ]; then
        echo "kindling: no sha256 for $path ($checksum); refusing to install it unverified" >&2
        exit 1
    fi
    if ! echo "$expected  $file" | sha256sum -c --status; then
        echo "kindling: sha256 of $path is $(sha256sum "$file" | cut -d' ' -f1), expected $expected" >&2
        exit 1
    fi
    case "$install" in
        bin:*)
            install -D -m 0755 "$file" "$destdir${install#bin:}"
            ;;
        untar:*)
            mkdir -p "$destdir${install#untar:}"
            tar -C "$destdir${install#untar:}" -xzf "$file"
            ;;
        untar-member:*)
            member_and_destination=${install#untar-member:}
            tar -C "$work" -xzf "$file" "${member_and_destination%%:*}"
            install -D -m 0755 "$work/${member_and_destination%%:*}" "$destdir${member_and_destination#*:}"
            ;;
        *)
            echo "kindling: unknown install step $install for $name" >&2
            exit 1
            ;;
    esac
    echo "kindling: installed $name from $source ($path), sha256 verified"
done
rm -rf "$work"
