"""kindling's CrossGuard policies: the mistakes that break or expose a cluster, caught at preview.

Each subject has its module (nodes, kubeadm, credentials, networks, stack, images), where every policy is
declared right under its validator with its enforcement level, severity, what breaks and how to
fix it. During a preview some values are not known yet (the node image id, a container id in a
Command's triggers); a policy skips exactly the check that needs such a value. That is safe:
``pulumi up`` analyses every resource again just before creating it, when its inputs are known,
and a mandatory violation stops the update there.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The pack runs from policies/ in its own virtualenv; kindling's contract and catalog (which need
# only semver) and the subject modules are imported from the repository root.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from policies import credentials, images, kubeadm, networks, nodes, stack  # noqa: E402
from policies.registry import Severity  # noqa: E402

# In the order the README's table lists them.
DECLARED = [
    nodes.LIB_MODULES_READ_ONLY,
    kubeadm.KUBE_PROXY_CONNTRACK_UNMANAGED,
    nodes.API_SERVER_LOOPBACK_ONLY,
    nodes.PUBLISHED_PORTS_LOOPBACK_ONLY,
    nodes.LOAD_BALANCER_PUBLISHES_ONLY_THE_API_SERVER,
    credentials.ADMIN_KUBECONFIG_SECRET,
    credentials.ADMIN_KUBECONFIG_NOT_LOGGED,
    credentials.CLUSTER_PROVIDER_EXPLICIT_KUBECONFIG,
    nodes.PRIVILEGES_ONLY_ON_NODES,
    kubeadm.KUBEADM_API_MATCHES_RELEASE,
    credentials.KUBEADM_CONFIG_WITHOUT_CREDENTIALS,
    stack.HELM_CHART_PINNED,
    stack.NODE_IMAGE_PINNED,
    images.LOADED_IMAGES_PINNED,
    nodes.NODE_RESTARTS_ON_FAILURE,
    kubeadm.NODE_IMAGE_MATCHES_KUBEADM_CONFIG,
    stack.COMPONENT_VERSION_SKEW,
    networks.CLUSTER_NETWORKS_CONSISTENT,
]
POLICIES = [declared.policy for declared in DECLARED]
SEVERITY: dict[str, Severity] = {declared.policy.name: declared.severity for declared in DECLARED}
