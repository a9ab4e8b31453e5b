"""What the program tests share: the real program run under Pulumi's mocks, and finding what a stack
registered in it.
"""

from functools import cache

from policies import shapes
from tests.pulumi_harness import Deployment, run_program
from tests.support import stack_config

CONTAINER, COMMAND, RELEASE, K8S_PROVIDER = (
    shapes.CONTAINER,
    shapes.COMMAND,
    shapes.HELM_RELEASE,
    shapes.KUBERNETES_PROVIDER,
)
REFERENCE = "k8s-1-19-1"


@cache
def deployed(stack: str, **overrides: str) -> Deployment:
    return run_program(stack, {**stack_config(stack), **overrides})


def deployed_with(stack: str, overrides: dict[str, str], **kwargs) -> Deployment:
    return run_program(stack, {**stack_config(stack), **overrides}, **kwargs)


def control_plane(deployment: Deployment):
    (node,) = [c for c in deployment.of_type(CONTAINER) if labels(c)["kindling.role"] == "control-plane"]
    return node


def labels(container) -> dict[str, str]:
    return {item["label"]: item["value"] for item in container.inputs["labels"]}


def mount(container, target: str) -> dict | None:
    found = [m for m in container.inputs.get("mounts", []) if m["target"] == target]
    return found[0] if found else None


def init_command(deployment: Deployment):
    (init,) = [c for c in deployment.of_type(COMMAND) if "kubeadm-init.sh" in c.inputs["create"]]
    return init


def kubeconfig_command(deployment: Deployment):
    (command,) = [c for c in deployment.of_type(COMMAND) if "admin-kubeconfig.sh" in c.inputs["create"]]
    return command


def depends_on(deployment: Deployment, dependant, dependency) -> bool:
    """Whether ``dependant`` waits for ``dependency``, directly or through other resources."""
    seen, pending = set(), list(dependant.dependencies)
    while pending:
        urn = pending.pop()
        if urn == dependency.urn:
            return True
        if urn not in seen:
            seen.add(urn)
            pending.extend(deployment.by_urn(urn).dependencies)
    return False
