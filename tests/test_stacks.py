"""Every shipped stack file loads, validates, renders, and states only what it must."""

import pytest
import yaml

from kindling.kubeadm_config import render_init_config
from kindling.spec import build_spec
from tests.support import STACKS_DIR, stack_config, stack_names, stack_text

EXPECTED_API = [
    ((1, 18), (1, 23), "kubeadm.k8s.io/v1beta2"),
    ((1, 23), (1, 31), "kubeadm.k8s.io/v1beta3"),
    ((1, 31), (9, 0), "kubeadm.k8s.io/v1beta4"),
]


def test_one_stack_per_catalog_release():
    assert len(stack_names()) >= 18
    for stack in stack_names():
        assert (STACKS_DIR / f"Pulumi.{stack}.yaml").is_file(), f"stacks/Pulumi.{stack}.yaml is missing"


@pytest.mark.parametrize("stack", stack_names())
def test_stack_loads_validates_and_renders(stack):
    raw = stack_config(stack)
    spec = build_spec(raw, stack)
    assert stack == "k8s-" + str(spec.kubernetes).replace(".", "-"), "stack name and release must agree"
    documents = list(yaml.safe_load_all(render_init_config(spec)))
    minor = (spec.kubernetes.major, spec.kubernetes.minor)
    (api,) = [api for since, until, api in EXPECTED_API if since <= minor < until]
    assert documents[0]["apiVersion"] == documents[1]["apiVersion"] == api
    assert documents[3]["conntrack"]["maxPerCore"] == 0


@pytest.mark.parametrize("stack", stack_names())
def test_stack_states_only_what_differs_from_the_catalog(stack):
    raw = stack_config(stack)
    assert set(raw) == {"kubernetesVersion"}, f"{stack} sets {sorted(set(raw) - {'kubernetesVersion'})}"
    document = yaml.safe_load(stack_text(stack))
    assert set(document) <= {"config", "encryptionsalt", "secretsprovider", "encryptedkey"}


def test_reference_stack():
    spec = build_spec(stack_config("k8s-1-19-1"), "k8s-1-19-1")
    components = spec.components
    assert str(spec.kubernetes) == "1.19.1"
    assert (components.containerd, components.runc, components.cni_plugins) == ("1.4.0", "1.0.0-rc92", "0.8.7")
    assert (components.crictl, components.helm, components.base_image) == ("1.18.0", "3.4.0", "ubuntu:20.04")
