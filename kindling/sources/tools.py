"""Tools installed in a node for its users: helm and crictl."""

from __future__ import annotations

from kindling.sources.facts import REFLECT2, VBOM_ML, Fix, GoSource

HELM: dict[str, GoSource] = {
    "3.2.4": GoSource(
        "helm.sh/helm/v3",
        "v3.2.4",
        "0ad800ef43d3b826f31a5ad8dfbb4fe05d143688",
        "1.13.12",
        "Go: helm version of the release binary; commit: the git tag",
        fixes=(VBOM_ML, REFLECT2),
    ),
    "3.4.0": GoSource(
        "helm.sh/helm/v3",
        "v3.4.0",
        "7090a89efc8a18f3d8178bf47d2462450349a004",
        "1.14.10",
        "Go: helm version of the release binary; commit: the git tag",
        fixes=(VBOM_ML, REFLECT2),
    ),
    "3.5.0": GoSource(
        "helm.sh/helm/v3",
        "v3.5.0",
        "32c22239423b3b4ba6706d450bd044baffdcf9e6",
        "1.15.6",
        "Go: helm version of the release binary; commit: the git tag",
        fixes=(REFLECT2,),
    ),
    "3.6.0": GoSource(
        "helm.sh/helm/v3",
        "v3.6.0",
        "7f2df6467771a75f5646b7f12afb408590ed1755",
        "1.16.3",
        "Go: helm version of the release binary; commit: the git tag",
        fixes=(REFLECT2,),
    ),
    "3.7.0": GoSource(
        "helm.sh/helm/v3",
        "v3.7.0",
        "eeac83883cb4014fe60267ec6373570374ce770b",
        "1.16.8",
        "Go: helm version of the release binary; commit: the git tag",
        fixes=(REFLECT2,),
    ),
    "3.8.0": GoSource(
        "helm.sh/helm/v3",
        "v3.8.0",
        "d14138609b01886f544b2025f5000351c9eb092e",
        "1.17.5",
        "Go: helm version of the release binary; commit: the git tag",
    ),
    "3.9.0": GoSource(
        "helm.sh/helm/v3",
        "v3.9.0",
        "7ceeda6c585217a19a1131663d8cd1f7d641b2a7",
        "1.17.5",
        "Go: helm version of the release binary; commit: the git tag",
    ),
    "3.10.0": GoSource(
        "helm.sh/helm/v3",
        "v3.10.0",
        "ce66412a723e4d89555dc67217607c6579ffcb21",
        "1.18.6",
        "Go: helm version of the release binary; commit: the git tag",
    ),
    "3.11.0": GoSource(
        "helm.sh/helm/v3",
        "v3.11.0",
        "472c5736ab01133de504a826bd9ee12cbe4e7904",
        "1.18.10",
        "Go: helm version of the release binary; commit: the git tag",
    ),
    "3.12.0": GoSource(
        "helm.sh/helm/v3",
        "v3.12.0",
        "c9f554d75773799f72ceef38c51210f1842a1dea",
        "1.20.3",
        "Go: helm version of the release binary; commit: the git tag",
    ),
    "3.13.0": GoSource(
        "helm.sh/helm/v3",
        "v3.13.0",
        "825e86f6a7a38cef1112bfa606e4127a706749b1",
        "1.20.8",
        "Go: helm version of the release binary; commit: the git tag",
    ),
    "3.14.0": GoSource(
        "helm.sh/helm/v3",
        "v3.14.0",
        "3fc9f4b2638e76f26739cd77c7017139be81d0ea",
        "1.21.5",
        "Go: helm version of the release binary; commit: the git tag",
    ),
    "3.15.0": GoSource(
        "helm.sh/helm/v3",
        "v3.15.0",
        "c4e37b39dbb341cb3f716220df9f9d306d123a58",
        "1.22.3",
        "Go: helm version of the release binary; commit: the git tag",
    ),
    "3.16.0": GoSource(
        "helm.sh/helm/v3",
        "v3.16.0",
        "0d439e1a09683f21a0ab9401eb661401f185b00b",
        "1.22.6",
        "Go: helm version of the release binary; commit: the git tag",
    ),
    "3.16.4": GoSource(
        "helm.sh/helm/v3",
        "v3.16.4",
        "7877b45b63f95635153b29a42c0c2f4273ec45ca",
        "1.22.7",
        "Go: helm version of the release binary; commit: the git tag",
    ),
    "3.18.4": GoSource(
        "helm.sh/helm/v3",
        "v3.18.4",
        "d80839cf37d860c8aa9a0503fe463278f26cd5e2",
        "1.24.4",
        "Go: helm version of the release binary; commit: the git tag",
    ),
    "3.19.0": GoSource(
        "helm.sh/helm/v3",
        "v3.19.0",
        "3d8990f0836691f0229297773f3524598f46bda6",
        "1.24.7",
        "Go: helm version of the release binary; commit: the git tag",
    ),
    "4.0.4": GoSource(
        "helm.sh/helm/v4",
        "v4.0.4",
        "8650e1dad9e6ae38b41f60b712af9218a0d8cc11",
        "1.25.5",
        "Go: helm version of the release binary; commit: the git tag",
    ),
}


# cri-tools, by the versions the proxy serves (it refuses most tags; bundle/plan.py picks the
# nearest served line for a release whose own crictl is refused). v1.30.0 is served only under
# sigs.k8s.io/cri-tools while its go.mod still names github.com/kubernetes-sigs/cri-tools.
# cri-tools 1.26.1 takes Kubernetes' libraries as pseudo-versions of k8s.io/kubernetes/staging at
# v1.26.0's commit (b46a3f887ca9), which the proxy refuses. The same trees are published as
# k8s.io/<name> v0.26.0, the tags Kubernetes cuts from that commit.
_STAGING_1_26 = [
    "api",
    "apiextensions-apiserver",
    "apimachinery",
    "apiserver",
    "cli-runtime",
    "client-go",
    "cloud-provider",
    "cluster-bootstrap",
    "code-generator",
    "component-base",
    "component-helpers",
    "controller-manager",
    "cri-api",
    "csi-translation-lib",
    "kube-aggregator",
    "kube-controller-manager",
    "kube-proxy",
    "kube-scheduler",
    "kubectl",
    "kubelet",
    "legacy-cloud-providers",
    "metrics",
    "mount-utils",
    "pod-security-admission",
    "sample-apiserver",
]
KUBERNETES_1_26_0_STAGING = tuple(
    Fix(
        why="k8s.io/kubernetes/staging pseudo-versions are refused by the proxy; v0.26.0 is the same tree",
        replace=f"k8s.io/{name} => k8s.io/{name} v0.26.0",
    )
    for name in _STAGING_1_26
)

CRICTL: dict[str, GoSource] = {
    "1.26.1": GoSource(
        "github.com/kubernetes-sigs/cri-tools",
        "v1.26.1",
        "300f0781645f12437b43fba5dd232733e0f2f82f",
        "1.19",
        "Go: release.yml setup-go 1.19 (a minor only); commit: the git tag (crictl prints none)",
        fixes=KUBERNETES_1_26_0_STAGING,
    ),
    "1.30.0": GoSource(
        "sigs.k8s.io/cri-tools",
        "v1.30.0",
        "87adf58b79394b151413c2e0ccfdc7e6332460dc",
        "1.22.1",
        "Go: go.mod toolchain go1.22.1; commit: the git tag (crictl prints none)",
    ),
    "1.34.0": GoSource(
        "sigs.k8s.io/cri-tools",
        "v1.34.0",
        "ca0237b9fec5b675b0bb7bc96b7496e6d54f5ccb",
        "1.24.1",
        "Go: release.yml go-version-file go.mod (go 1.24.1); commit: the git tag (crictl prints none)",
    ),
}
