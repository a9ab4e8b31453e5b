#!/usr/bin/env bash
# make tools (run by make up, preview and destroy): what a real `pulumi up` needs, one line for each
# thing missing, with the command that installs it online and what to do offline. Exit 1 if any.
# PULUMI names the CLI (default: pulumi on PATH).
set -u
cd "$(dirname "$0")/.." || exit 1
pulumi=${PULUMI:-pulumi}
missing=0
lack() {
    echo "missing: $*"
    missing=1
}

if ! command -v "$pulumi" >/dev/null; then
    lack "the Pulumi CLI. Online: curl -fsSL https://get.pulumi.com | sh (then pulumi login --local)." \
        "Offline: eval \"\$(bash .ci/pulumi-toolchain.sh)\" builds it from Go modules (needs Go 1.24+; 12 to 25 minutes cold on 2 cores)."
fi
if ! command -v docker >/dev/null || ! docker info >/dev/null 2>&1; then
    lack "a running Docker engine. Debian/Ubuntu: apt-get install docker.io, then start dockerd (systemctl start docker)."
fi

# The provider plugins, at the versions of the Python packages in requirements.txt.
if command -v "$pulumi" >/dev/null; then
    installed=$("$pulumi" plugin ls 2>/dev/null)
    for provider in docker command kubernetes; do
        version=$(sed -n "s/^pulumi-$provider==\([0-9.]*\).*/\1/p" requirements.txt)
        if printf '%s\n' "$installed" | grep -Eq "^$provider +resource +$version "; then
            continue
        fi
        if [ "$provider" = kubernetes ]; then
            offline="Offline: eval \"\$(bash .ci/pulumi-toolchain.sh)\" builds it with the CLI."
        else
            offline="Offline: no registry serves it; copy its release archive from a machine that has one and run pulumi plugin install resource $provider $version -f pulumi-resource-$provider-v$version-linux-amd64.tar.gz."
        fi
        lack "the $provider provider plugin $version. Online: $pulumi plugin install resource $provider $version. $offline"
    done
fi
exit "$missing"
