#!/bin/sh
# Configure containerd and the kubelet for one release:
#   $1 the cgroup driver the kubelet uses (cgroupfs or systemd): containerd must agree;
#   $2 the pause image kubeadm expects, so containerd never pulls a second one;
#   $3 containerd's config schema version (2 for containerd 1.x, 3 for 2.x);
#   $4 "true" when containerd must run runc through runc-within-bounds (containerd < 1.5, see that script).
set -eu
driver=$1
pause=$2
schema=$3
runc_within_bounds=${4:-false}
binary_name=""
if [ "$runc_within_bounds" = true ]; then
    binary_name="BinaryName = \"/usr/local/lib/kindling/runc-within-bounds\""
fi
systemd_cgroup=false
[ "$driver" = systemd ] && systemd_cgroup=true

# restrict_oom_score_adj: nodes without CAP_SYS_RESOURCE (nodeSecurity: capabilities) cannot
# lower a process's OOM score, and the kubelet asks -997 for static pods; clamp instead of failing.
mkdir -p /etc/containerd
if [ "$schema" = 2 ]; then
    cat > /etc/containerd/config.toml <<TOML
version = 2

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$pause"
  restrict_oom_score_adj = true

[plugins."io.containerd.grpc.v1.cri".containerd]
  default_runtime_name = "runc"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  SystemdCgroup = $systemd_cgroup
  $binary_name
TOML
elif [ "$schema" = 3 ]; then
    cat > /etc/containerd/config.toml <<TOML
version = 3

[plugins.'io.containerd.cri.v1.images'.pinned_images]
  sandbox = "$pause"

[plugins.'io.containerd.cri.v1.runtime']
  restrict_oom_score_adj = true

[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
  SystemdCgroup = $systemd_cgroup
TOML
else
    echo "kindling: unknown containerd config schema $schema" >&2
    exit 1
fi

cat > /etc/crictl.yaml <<YAML
runtime-endpoint: unix:///run/containerd/containerd.sock
image-endpoint: unix:///run/containerd/containerd.sock
YAML

mkdir -p /etc/cni/net.d /var/lib/kubelet /etc/kubernetes/manifests
systemctl enable containerd.service kubelet.service kindling-stop-shims.service

# Fail the build now, not the cluster later, if an install went wrong.
containerd --version
runc --version
kubeadm version -o short
kubelet --version
kubectl version --client
if command -v crictl >/dev/null; then crictl --version; fi  # left out where it cannot be built
helm version --short
