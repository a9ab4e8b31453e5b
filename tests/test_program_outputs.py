"""The real program under Pulumi's mocks: the stack's outputs, the node image, and the configs it refuses."""

import json

import pytest

from components.control_plane import parse_node_versions
from kindling.config import SpecError
from kindling.host import DockerHost
from tests.program_fixtures import (
    COMMAND,
    REFERENCE,
    depends_on,
    deployed,
    deployed_with,
    init_command,
)
from tests.pulumi_harness import FREE_PORT, run_program
from tests.support import stack_config

# --- outputs and refusals ----------------------------------------------------------------------------


def test_stack_outputs():
    deployment = deployed(REFERENCE)
    assert deployment.output("apiServer") == (f"https://127.0.0.1:{FREE_PORT}", False)
    assert deployment.output("nodes")[0] == [f"{REFERENCE}-control-plane"]
    versions, _ = deployment.output("versions")
    assert versions == {
        "kubernetes": "1.19.1",
        "kubeadm": "1.19.1",
        "containerd": "1.4.0",
        "runc": "1.0.0-rc92",
        "crictl": "1.18.0",
        "helm": "3.4.0",
        "charts": {"flannel": "v0.26.7"},
    }


def test_versions_are_what_the_node_reports_not_what_was_configured():
    deployment = deployed(REFERENCE)
    (report,) = [c for c in deployment.of_type(COMMAND) if "node-versions.sh" in c.inputs["create"]]
    assert depends_on(deployment, report, init_command(deployment))
    assert report.inputs["triggers"] == [init_command(deployment).id]
    assert parse_node_versions("helm not installed\ncontainerd containerd v2.1.4 abc\n") == {
        "helm": "not installed",
        "containerd": "2.1.4",
    }


def test_node_image_is_tagged_with_the_release_never_latest():
    (image,) = deployed(REFERENCE).of_type("docker:index/remoteImage:RemoteImage")
    assert image.inputs["name"].startswith(f"kindling/{REFERENCE}:v1.19.1-")
    assert image.inputs["keepLocally"] is False
    build_args = image.inputs["build"]["buildArgs"]
    assert build_args["BASE_IMAGE"] == "ubuntu:20.04"
    assert build_args["CGROUP_DRIVER"] == "cgroupfs"
    assert build_args["PAUSE_IMAGE"] == "registry.k8s.io/pause:3.2"
    assert "containerd v1.4.0/containerd-1.4.0-linux-{arch}.tar.gz" in build_args["KINDLING_ARTIFACTS"]


def test_containerd_before_1_5_runs_runc_within_the_nodes_capabilities():
    (old,) = deployed(REFERENCE).of_type("docker:index/remoteImage:RemoteImage")
    assert old.inputs["build"]["buildArgs"]["RUNC_WITHIN_BOUNDS"] == "true"
    (new,) = deployed("k8s-1-21-1").of_type("docker:index/remoteImage:RemoteImage")
    assert "RUNC_WITHIN_BOUNDS" not in new.inputs["build"]["buildArgs"], "containerd 1.5 passes the node's own set"


def test_crictl_can_be_left_out_of_a_node():
    (image,) = deployed_with(REFERENCE, {"components": json.dumps({"crictl": "none"})}).of_type(
        "docker:index/remoteImage:RemoteImage"
    )
    names = [line.split()[0] for line in image.inputs["build"]["buildArgs"]["KINDLING_ARTIFACTS"].splitlines()]
    assert names == ["kubeadm", "kubelet", "kubectl", "containerd", "runc", "cni-plugins", "helm"]


def test_prebuilt_node_image_is_used_and_kept():
    deployment = deployed_with(REFERENCE, {"nodeImage": "ctr_kubernetes-v1.19.1-base:v0.1"})
    (image,) = deployment.of_type("docker:index/remoteImage:RemoteImage")
    assert image.inputs["name"] == "ctr_kubernetes-v1.19.1-base:v0.1"
    assert image.inputs["keepLocally"] is True
    assert "build" not in image.inputs


@pytest.mark.parametrize(
    "overrides", [{"cni": "weave"}, {"workers": "-1"}, {"apiServerPort": "99999"}, {"kubernetesVersion": "1.19"}]
)
def test_bad_config_registers_nothing(overrides):
    registered = []
    with pytest.raises(SpecError):
        run_program(REFERENCE, {**stack_config(REFERENCE), **overrides}, registered=registered)
    assert registered == [], "refused before anything exists"


def test_release_too_old_for_a_cgroup_v2_host_is_refused_before_anything_exists():
    host = DockerHost(cgroup_version=2, architecture="x86_64", has_lib_modules=True)
    with pytest.raises(SpecError, match="cgroup v2"):
        run_program("k8s-1-18-2", stack_config("k8s-1-18-2"), docker_host=host)
    run_program("k8s-1-19-1", stack_config("k8s-1-19-1"), docker_host=host)
