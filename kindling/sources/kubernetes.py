"""Kubernetes releases (k8s.io/kubernetes), the images kubeadm names for each, and pause's source."""

from __future__ import annotations

from kindling.sources.facts import REFLECT2, VBOM_ML, XTOOLS_FOR_GENERATORS, Fix, GoSource, KubernetesSource


def _release(
    version: str,
    commit: str,
    upstream_go: str,
    evidence: str,
    etcd: str,
    coredns: str,
    fixes: tuple[Fix, ...] = (),
) -> KubernetesSource:
    source = GoSource("k8s.io/kubernetes", f"v{version}", commit, upstream_go, evidence, fixes=fixes)
    return KubernetesSource(source, etcd=etcd, coredns=coredns)


# The proxy refuses these staging modules at v0.27.0, the tag cut with 1.27.0; v0.27.1 (1.27.1's) is the
# nearest it serves. Only their code differs from the release's: kubeadm and the kube-controller-manager
# still report v1.27.0 and the release's commit.
KUBERNETES_1_27_0_STAGING = tuple(
    Fix(
        why="the proxy refuses k8s.io staging modules at v0.27.0; v0.27.1 is the nearest served patch",
        replace=f"k8s.io/{name} => k8s.io/{name} v0.27.1",
    )
    for name in ("cluster-bootstrap", "kube-controller-manager", "sample-apiserver")
)

KUBERNETES: dict[str, KubernetesSource] = {
    "1.18.2": _release(
        "1.18.2",
        "52c56ce7a8272c798dbc29846288d7cd9fbae032",
        "1.13.9",
        "Go: build/build-image/cross/VERSION v1.13.9-2; commit: kubectl version outputs pasted in public issues",
        etcd="3.4.3-0",
        coredns="1.6.7",
        fixes=(VBOM_ML, REFLECT2),
    ),
    "1.19.1": _release(
        "1.19.1",
        "206bcadf021e76c27513500ca24182692aabd17e",
        "1.15",
        "Go: build/dependencies.yaml; commit: kubectl version outputs pasted in public issues",
        etcd="3.4.13-0",
        coredns="1.7.0",
        fixes=(VBOM_ML, REFLECT2),
    ),
    "1.20.2": _release(
        "1.20.2",
        "faecb196815e248d3ecfb03c680a4507229c2a56",
        "1.15.5",
        "Go: build/dependencies.yaml; commit: kubectl version outputs pasted in public issues",
        etcd="3.4.13-0",
        coredns="1.7.0",
        fixes=(REFLECT2,),
    ),
    "1.21.1": _release(
        "1.21.1",
        "5e58841cce77d4bc13713ad2b91fa0d961e69192",
        "1.16.4",
        "Go: build/dependencies.yaml; commit: kubectl version outputs pasted in public issues",
        etcd="3.4.13-0",
        coredns="v1.8.0",
        fixes=(REFLECT2,),
    ),
    "1.22.0": _release(
        "1.22.0",
        "c2b5237ccd9c0f1d600d3072634ca66cefdf272f",
        "1.16.6",
        "Go: build/dependencies.yaml; commit: kubectl version outputs pasted in public issues",
        etcd="3.5.0-0",
        coredns="v1.8.4",
        fixes=(REFLECT2,),
    ),
    "1.23.0": _release(
        "1.23.0",
        "ab69524f795c42094a6630298ff53f3c3ebab7f4",
        "1.17.3",
        "Go: build/dependencies.yaml; commit: kubectl version outputs pasted in public issues",
        etcd="3.5.1-0",
        coredns="v1.8.6",
    ),
    "1.24.0": _release(
        "1.24.0",
        "4ce5a8954017644c5420bae81d72b09b735c21f0",
        "1.18.1",
        "Go: build/dependencies.yaml; commit: kubectl version outputs pasted in public issues",
        etcd="3.5.3-0",
        coredns="v1.8.6",
    ),
    "1.25.0": _release(
        "1.25.0",
        "a866cbe2e5bbaa01cfd5e969aa3e033f3282a8a2",
        "1.19",
        "Go: build/dependencies.yaml; commit: the proxy's .info Origin",
        etcd="3.5.4-0",
        coredns="v1.9.3",
    ),
    "1.26.0": _release(
        "1.26.0",
        "b46a3f887ca979b1a5d14fd39cb1af43e7e5d12d",
        "1.19.4",
        "Go: build/dependencies.yaml; commit: kubectl version outputs pasted in public issues",
        etcd="3.5.6-0",
        coredns="v1.9.3",
    ),
    "1.27.0": _release(
        "1.27.0",
        "1b4df30b3cdfeaba6024e81e559a6cd09a089d65",
        "1.20.3",
        "Go: .go-version; commit: the proxy's .info Origin",
        etcd="3.5.7-0",
        coredns="v1.10.1",
        fixes=KUBERNETES_1_27_0_STAGING,
    ),
    "1.28.0": _release(
        "1.28.0",
        "855e7c48de7388eb330da0f8d9d2394ee818fb8d",
        "1.20.7",
        "Go: .go-version; commit: the proxy's .info Origin",
        etcd="3.5.9-0",
        coredns="v1.10.1",
    ),
    "1.29.0": _release(
        "1.29.0",
        "3f7a50f38688eb332e2a1b013678c6435d539ae6",
        "1.21.5",
        "Go: .go-version; commit: kubectl version outputs pasted in public issues",
        etcd="3.5.10-0",
        coredns="v1.11.1",
    ),
    "1.30.0": _release(
        "1.30.0",
        "7c48c2bd72b9bf5c44d21d7338cc7bea77d0ad2a",
        "1.22.2",
        "Go: .go-version; commit: kubectl version outputs pasted in public issues",
        etcd="3.5.12-0",
        coredns="v1.11.1",
        fixes=(XTOOLS_FOR_GENERATORS,),
    ),
    "1.31.0": _release(
        "1.31.0",
        "9edcffcde5595e8a5b1a35f88c421764e575afce",
        "1.22.5",
        "Go: .go-version; commit: kubectl version outputs pasted in public issues",
        etcd="3.5.15-0",
        coredns="v1.11.1",
        fixes=(XTOOLS_FOR_GENERATORS,),
    ),
    "1.32.2": _release(
        "1.32.2",
        "67a30c0adcf52bd3f56ff0893ce19966be12991f",
        "1.23.6",
        "Go: .go-version; commit: kubectl version outputs pasted in public issues",
        etcd="3.5.16-0",
        coredns="v1.11.3",
    ),
    "1.33.4": _release(
        "1.33.4",
        "74cdb4273add43f53ddcad2de8ea9fd93c810dc4",
        "1.24.5",
        "Go: .go-version; commit: Homebrew's kubernetes-cli formula (tag, revision)",
        etcd="3.5.21-0",
        coredns="v1.12.0",
    ),
    "1.34.0": _release(
        "1.34.0",
        "f28b4c9efbca5c5c0af716d9f2d5702667ee8a45",
        "1.24.6",
        "Go: .go-version; commit: kubectl version outputs pasted in public issues",
        etcd="3.6.4-0",
        coredns="v1.12.1",
    ),
    "1.35.0": _release(
        "1.35.0",
        "66452049f3d692768c39c797b21b793dce80314e",
        "1.25.5",
        "Go: .go-version; commit: the proxy's .info Origin",
        etcd="3.6.6-0",
        coredns="v1.13.1",
    ),
}

# pause is C; its source sits in the Kubernetes release whose build/pause/Makefile has that tag.
# 3.4.1 is tagged only in a 1.21 pre-release (v1.21.0-rc.0 moved on to 3.5); its pause.c is 3.4's.
PAUSE: dict[str, str] = {
    "3.2": "v1.18.2",
    "3.4.1": "v1.21.0-beta.1",
    "3.5": "v1.21.1",
    "3.6": "v1.22.0",
    "3.7": "v1.24.0",
    "3.8": "v1.25.0",
    "3.9": "v1.26.0",
    "3.10": "v1.31.0",
    "3.10.1": "v1.34.0",
}
