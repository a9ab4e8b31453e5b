#!/bin/sh
# Build Debian's busybox (bookworm's source package, as busybox-static is built: its static
# configuration) with one setting of Debian's own changed: FEATURE_DI_ENV_HACK, which Debian's
# installer flavour sets, makes ash import every environment entry, not only those whose names
# are shell identifiers. The suite's own busybox image (Docker Hub's 1.36 and 1.37) passes such
# variables (data-1, 1-data-1, #@!data-1: KEP 4369's envFrom keys) to the commands its sh runs;
# Debian's busybox-static drops them. Writes /out/busybox.
set -eu
grep -h '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
    | sed 's/^deb /deb-src /' > /etc/apt/sources.list.d/kindling-deb-src.list
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends build-essential dpkg-dev
mkdir -p /src /out
cd /src
apt-get source busybox
source=$(echo /src/busybox-*/)
cat "$source/debian/config/os/linux" "$source/debian/config/pkg/static" > /out/.config
sed -i 's/^# CONFIG_FEATURE_DI_ENV_HACK is not set$/CONFIG_FEATURE_DI_ENV_HACK=y/' /out/.config
yes "" | make -C /out -f "$source/Makefile" KBUILD_SRC="$source" silentoldconfig >/dev/null
for setting in CONFIG_FEATURE_DI_ENV_HACK=y CONFIG_STATIC=y CONFIG_SH_IS_ASH=y; do
    grep -qx "$setting" /out/.config || { echo "busybox's configuration lacks $setting" >&2; exit 1; }
done
version=$(dpkg-parsechangelog -l "$source/debian/changelog" -S Version)
nice -n 10 make -C /out -j2 all SKIP_STRIP=y BB_EXTRA_VERSION="Debian $version, FEATURE_DI_ENV_HACK" >/dev/null
/out/busybox | head -n 1
