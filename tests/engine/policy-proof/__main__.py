"""A kubernetes-only program for the real engine and kindling's policy pack.

With explicitKubeconfig false its Helm release goes through the default
Kubernetes provider, which falls back to the user's ~/.kube/config: the pack
must refuse that (policy cluster-provider-explicit-kubeconfig). With true it
goes through a provider given a kubeconfig, which the pack must accept. It runs
where the docker and command provider plugins cannot be built, and needs no
cluster: a preview does not contact the API server.
"""

import pulumi
import pulumi_kubernetes as k8s

UNREACHABLE_KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: none, user: {}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
"""

provider = None
if pulumi.Config().require_bool("explicitKubeconfig"):
    provider = k8s.Provider("cluster", kubeconfig=UNREACHABLE_KUBECONFIG)
k8s.helm.v3.Release(
    "example",
    chart="./chart",
    version="0.1.0",
    namespace="default",
    opts=pulumi.ResourceOptions(provider=provider),
)
