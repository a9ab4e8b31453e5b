#!/usr/bin/env bash
# pulumi-toolchain.sh - build the real Pulumi engine offline, from Go modules only.
#
# Builds the Pulumi CLI, the Python language host (plus its helper scripts) and the
# resource-provider plugins that can be obtained from the Go module proxy, into a
# cache directory outside the work tree, keyed by every pinned version. A complete
# cache is reused: a warm run only verifies it and prints the environment.
#
# INTERFACE
#   eval "$(bash .ci/pulumi-toolchain.sh)"   build if needed, then print env lines
#   bash .ci/pulumi-toolchain.sh --print-env  print env lines of an existing, complete
#                                             toolchain; never builds (exit 1 if absent)
#   bash .ci/pulumi-toolchain.sh --check      exit 0 if the toolchain is built and complete
#   bash .ci/pulumi-toolchain.sh --versions   print the pins, one "name version status" a line
#   bash .ci/pulumi-toolchain.sh --rebuild    discard this key's cache and build again
#
#   stdout carries ONLY the env lines (so `eval "$(...)"` is safe); progress, warnings
#   and build output go to stderr. The env lines are:
#     export PATH="<dir>/bin:$PATH"        pulumi, pulumi-language-python, its -exec
#                                          script, pulumi-analyzer-policy-python
#     export PULUMI_HOME="<dir>/home"      holds the installed provider plugins; nothing
#                                          is written to ~/.pulumi
#     export PULUMI_SKIP_UPDATE_CHECK=true
#     export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
#     export KINDLING_PULUMI_PROVIDERS="kubernetes=4.25.0"   providers actually installed
#   The caller still provides the backend and passphrase, e.g.
#     PULUMI_BACKEND_URL=file:///some/dir PULUMI_CONFIG_PASSPHRASE=...
#   (prefer PULUMI_BACKEND_URL over `pulumi login`, which writes into PULUMI_HOME).
#
# ENVIRONMENT
#   KINDLING_TOOLCHAIN_CACHE  cache root (default: $HOME/.cache/kindling/toolchain);
#                             must not be inside this repository's work tree.
#   GOPROXY and GOMODCACHE are honoured (Go defaults otherwise). GOCACHE is used only
#   if exported by the caller; otherwise a scratch compile cache is used and deleted.
#
# WHAT IS BUILT, AND WHY THESE VERSIONS
#   The Go module proxy reachable here serves only some module versions (no @v/list,
#   no @latest, no arbitrary commits). The Python language host module is untagged and
#   the proxy holds it at the v3.184.0 release commit (a8f88047ab64) but at no later
#   release, so the whole Pulumi set is pinned to 3.184.0, every piece from that commit:
#     pkg/v3 (the CLI) at pseudo-version v3.183.1-0.20250718110245-a8f88047ab64
#       (the pkg/v3.184.0 tag sits 3 commits later and does not compile against
#        sdk/v3 v3.184.0; the v3.184.0 release itself is this commit),
#     sdk/v3 v3.184.0, and the language host v3.0.0-20250718110245-a8f88047ab64.
#   Python side to pin with it: pulumi==3.184.0 and pulumi-policy==1.17.0 (1.18.0
#   claims pulumi>=3.157 but fails to import with 3.184: it needs the PolicySeverity
#   proto; 1.19+ require pulumi>=3.196).
#   Providers (version = the Python SDK's pulumi-plugin.json version):
#     kubernetes 4.25.0  built: provider/v4 pseudo-version of the v4.25.0 tag commit
#                        f47bc2d6f199 (the newest release the proxy serves).
#     command            NOT BUILT: no release of its provider module
#                        (github.com/pulumi/pulumi-command/provider, or the root module
#                        after it moved) is served by the proxy.
#     docker             NOT BUILT: no release of provider/v4 or provider/v5 is served,
#                        and its terraform upstream is a git submodule + patches that
#                        are not part of any Go module.
#
# HOW
#   The pinned module zips are downloaded with `go mod download`, checked against the
#   h1: hashes below (the checksum database reachable here lacks some of these
#   pseudo-versions, so they are exempted from it and checked here instead), copied
#   to a writable scratch tree laid out like the upstream repositories so their own
#   relative `replace` directives (pkg -> ../sdk, language host -> ../../../../pkg,
#   kubernetes provider -> ../sdk) resolve, and built there with their own go.mod and
#   go.sum. The kubernetes provider embeds a gitignored schema-embed.json, produced
#   by running its generate.go in the scratch copy first.
set -euo pipefail

# ---------------------------------------------------------------- pins
PULUMI_VERSION=3.184.0
PULUMI_COMMIT=a8f88047ab64
MOD_PULUMI_PKG=github.com/pulumi/pulumi/pkg/v3
VER_PULUMI_PKG=v3.183.1-0.20250718110245-a8f88047ab64
SUM_PULUMI_PKG=h1:YyVpJ1C3O1VWVhZUo1fzeQPkXLV8I+4Mfv4Wp6ZR3gU=
MOD_PULUMI_SDK=github.com/pulumi/pulumi/sdk/v3
VER_PULUMI_SDK=v3.184.0
SUM_PULUMI_SDK=h1:VdJAmkeO5k7l8bOzVxXw9AfuTO75BBYmw6eQ9YMNCeI=
MOD_PY_HOST=github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3
VER_PY_HOST=v3.0.0-20250718110245-a8f88047ab64
SUM_PY_HOST=h1:3x/gafIPQwk/G6nK5rN9ssW4KXAQMFQypC30PlTigzM=
PULUMI_POLICY_PY_VERSION=1.17.0

K8S_VERSION=4.25.0
MOD_K8S_PROVIDER=github.com/pulumi/pulumi-kubernetes/provider/v4
VER_K8S_PROVIDER=v4.0.0-20260115033456-f47bc2d6f199
SUM_K8S_PROVIDER=h1:j2bphCf7c2YhnBrhwht2f3TNRRgcMImltUlAgzxr9H4=
MOD_K8S_SDK=github.com/pulumi/pulumi-kubernetes/sdk/v4
VER_K8S_SDK=v4.25.0
SUM_K8S_SDK=h1:N1qitmrGomEaCPsblqJHaw8Re0cqqox5V+kHsi4EEtk=

# Python SDK versions to pin for the providers that cannot be built here (see above).
COMMAND_PY_VERSION=1.2.1
DOCKER_PY_VERSION=5.0.0
UNBUILT_PROVIDERS="command docker"

# Bump when the build recipe changes in a way that should invalidate caches.
RECIPE=1
MIN_GO=1.24.7   # highest `go` directive among the modules built

# ---------------------------------------------------------------- helpers
log() { printf '[pulumi-toolchain] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//' >&2; }

mode=ensure
case "${1:-}" in
  "") ;;
  --print-env) mode=print ;;
  --check) mode=check ;;
  --versions) mode=versions ;;
  --rebuild) mode=rebuild ;;
  -h|--help) usage; exit 0 ;;
  *) usage; die "unknown argument: $1" ;;
esac
[ $# -le 1 ] || die "expected at most one argument"

if [ "$mode" = versions ]; then
  cat <<EOF
pulumi $PULUMI_VERSION built
pulumi-language-python $PULUMI_VERSION built
pulumi-policy $PULUMI_POLICY_PY_VERSION python-only
kubernetes $K8S_VERSION built
command $COMMAND_PY_VERSION not-buildable
docker $DOCKER_PY_VERSION not-buildable
EOF
  exit 0
fi

command -v go >/dev/null 2>&1 || die "go is not on PATH"

# Go settings for every go invocation below: never try to download a toolchain, no
# VCS stamping (sources come from module zips), pure-Go binaries, and the pinned
# pseudo-versions exempted from the checksum database (verified against SUM_* here).
export GOTOOLCHAIN=local
export GOFLAGS=-buildvcs=false
export CGO_ENABLED=0
nosum="$MOD_PULUMI_PKG,$MOD_PY_HOST,$MOD_K8S_PROVIDER"
export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}$nosum"

go_version=$(go env GOVERSION)          # e.g. go1.26.8
go_version=${go_version#go}
go_minor=$(printf '%s' "$go_version" | cut -d. -f1-2)
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }
version_ge "$go_version" "$MIN_GO" || die "Go >= $MIN_GO needed, found $go_version"
goos=$(go env GOOS)
goarch=$(go env GOARCH)

cache_root=${KINDLING_TOOLCHAIN_CACHE:-$HOME/.cache/kindling/toolchain}
mkdir -p "$cache_root"
cache_root=$(cd "$cache_root" && pwd -P)
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
case "$cache_root/" in
  "$repo_root"/*) die "cache dir $cache_root is inside the work tree $repo_root" ;;
esac

key="pulumi-${PULUMI_VERSION}-${PULUMI_COMMIT}_k8s-${K8S_VERSION}_${goos}-${goarch}_go${go_minor}_r${RECIPE}"
dir="$cache_root/$key"
stamp="$dir/.complete"

print_env() {
  # shellcheck disable=SC2016  # $PATH is expanded by the caller's eval, on purpose
  printf 'export PATH="%s/bin:$PATH"\n' "$dir"
  printf 'export PULUMI_HOME="%s/home"\n' "$dir"
  printf 'export PULUMI_SKIP_UPDATE_CHECK=true\n'
  printf 'export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true\n'
  printf 'export KINDLING_PULUMI_PROVIDERS="kubernetes=%s"\n' "$K8S_VERSION"
}

warn_unbuilt() {
  local p
  for p in $UNBUILT_PROVIDERS; do
    log "warning: provider '$p' is not part of this toolchain (no release of its Go module is served by the module proxy); stacks using it cannot be previewed"
  done
}

# Cheap verification of a finished toolchain: stamp, files, and the CLI's version.
verify() {
  local d=$1 v
  [ -f "$d/.complete" ] || return 1
  [ "$(cat "$d/.complete")" = "$key" ] || return 1
  for f in bin/pulumi bin/pulumi-language-python bin/pulumi-language-python-exec \
           bin/pulumi-analyzer-policy-python \
           "home/plugins/resource-kubernetes-v$K8S_VERSION/pulumi-resource-kubernetes"; do
    [ -x "$d/$f" ] || { log "missing or not executable: $d/$f"; return 1; }
  done
  v=$(PULUMI_HOME="$d/home" PULUMI_SKIP_UPDATE_CHECK=true "$d/bin/pulumi" version 2>/dev/null) || return 1
  [ "$v" = "v$PULUMI_VERSION" ] || { log "pulumi version is '$v', expected v$PULUMI_VERSION"; return 1; }
}

case "$mode" in
  check) verify "$dir"; exit $? ;;
  print)
    verify "$dir" || die "no complete toolchain at $dir; run $0 without arguments to build it"
    warn_unbuilt; print_env; exit 0 ;;
esac

# ---------------------------------------------------------------- build (locked)
exec 9>"$cache_root/.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9
fi

if [ "$mode" = rebuild ]; then
  log "discarding $dir"
  rm -rf "$dir"
fi

if verify "$dir"; then
  log "toolchain ready (cached): $dir"
  warn_unbuilt
  print_env
  exit 0
fi

rm -rf "$dir" "$dir.partial"
work=$(mktemp -d "$cache_root/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
out="$dir.partial"
mkdir -p "$out/bin" "$out/home"
src="$work/src"
mkdir -p "$src"
# The compile cache of a cold build is ~5 GB and useless once the toolchain is cached:
# keep it in the scratch dir (deleted on exit) unless the caller exported GOCACHE.
if [ -z "${GOCACHE:-}" ]; then
  export GOCACHE="$work/gocache"
fi
t_start=$(date +%s)
log "building toolchain $key (Go $go_version) into $dir"

# fetch MODULE VERSION EXPECTED_SUM DEST: download a module zip through the proxy,
# check its hash, and copy it to DEST as a writable tree.
fetch() {
  local mod=$1 ver=$2 want=$3 dest=$4 json moddir sum
  if ! json=$(cd "$work" && go mod download -json "$mod@$ver"); then
    printf '%s\n' "$json" >&2
    die "cannot download $mod@$ver"
  fi
  moddir=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  sum=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Sum": "\(.*\)",\{0,1\}$/\1/p')
  [ "$sum" = "$want" ] || die "$mod@$ver has hash '$sum', expected $want"
  [ -d "$moddir" ] || die "$mod@$ver: no module directory in go mod download output"
  mkdir -p "$dest"
  cp -R "$moddir/." "$dest/"
  chmod -R u+w "$dest"
}

# Module zips laid out like github.com/pulumi/pulumi: pkg/, sdk/, and the language
# host at sdk/python/cmd/pulumi-language-python (excluded from the sdk zip because it
# is a module of its own).
log "downloading Pulumi $PULUMI_VERSION modules"
fetch "$MOD_PULUMI_PKG" "$VER_PULUMI_PKG" "$SUM_PULUMI_PKG" "$src/pulumi/pkg"
fetch "$MOD_PULUMI_SDK" "$VER_PULUMI_SDK" "$SUM_PULUMI_SDK" "$src/pulumi/sdk"
fetch "$MOD_PY_HOST" "$VER_PY_HOST" "$SUM_PY_HOST" "$src/pulumi/sdk/python/cmd/pulumi-language-python"

# Same flags as Pulumi's release build (trimpath, osusergo, stripped, version stamp).
pulumi_ldflags="-w -s -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"

t=$(date +%s)
log "building pulumi CLI"
(cd "$src/pulumi/pkg" && go build -trimpath -tags osusergo -ldflags "$pulumi_ldflags" \
  -o "$out/bin/pulumi" ./cmd/pulumi) >&2
log "pulumi CLI built in $(( $(date +%s) - t ))s"

t=$(date +%s)
log "building pulumi-language-python"
(cd "$src/pulumi/sdk/python/cmd/pulumi-language-python" && go build -trimpath -tags osusergo \
  -ldflags "$pulumi_ldflags" -o "$out/bin/pulumi-language-python" .) >&2
log "pulumi-language-python built in $(( $(date +%s) - t ))s"

# Helper scripts shipped in the sdk module: the language host runs
# pulumi-language-python-exec found next to itself; Python policy packs are started
# through pulumi-analyzer-policy-python found on PATH.
install -m 0755 "$src/pulumi/sdk/python/cmd/pulumi-language-python-exec" "$out/bin/"
install -m 0755 "$src/pulumi/sdk/python/dist/pulumi-analyzer-policy-python" "$out/bin/"

# Kubernetes provider: provider/ and sdk/ side by side for its `replace ../sdk`.
log "downloading kubernetes provider $K8S_VERSION modules"
fetch "$MOD_K8S_PROVIDER" "$VER_K8S_PROVIDER" "$SUM_K8S_PROVIDER" "$src/kubernetes/provider"
fetch "$MOD_K8S_SDK" "$VER_K8S_SDK" "$SUM_K8S_SDK" "$src/kubernetes/sdk"
t=$(date +%s)
log "generating kubernetes schema-embed.json"
(cd "$src/kubernetes/provider/cmd/pulumi-resource-kubernetes" && VERSION="$K8S_VERSION" go run ./generate.go) >&2
[ -s "$src/kubernetes/provider/cmd/pulumi-resource-kubernetes/schema-embed.json" ] \
  || die "kubernetes generate.go did not produce schema-embed.json"
log "building pulumi-resource-kubernetes"
(cd "$src/kubernetes/provider" && go build -trimpath \
  -ldflags "-w -s -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$K8S_VERSION" \
  -o "$work/pulumi-resource-kubernetes" ./cmd/pulumi-resource-kubernetes) >&2
log "pulumi-resource-kubernetes built in $(( $(date +%s) - t ))s"

# Move into place, then install the plugins into the toolchain's own PULUMI_HOME
# (`plugin install --file` copies the binary; the scratch copy goes with $work).
mv "$out" "$dir"
log "installing provider plugins into $dir/home"
PULUMI_HOME="$dir/home" PULUMI_SKIP_UPDATE_CHECK=true \
  PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true \
  "$dir/bin/pulumi" plugin install resource kubernetes "$K8S_VERSION" \
  --file "$work/pulumi-resource-kubernetes" >&2

printf '%s\n' "$key" > "$stamp"
if ! verify "$dir"; then
  rm -f "$stamp"
  die "toolchain at $dir failed verification"
fi
log "toolchain built in $(( $(date +%s) - t_start ))s: $dir"
warn_unbuilt
print_env
