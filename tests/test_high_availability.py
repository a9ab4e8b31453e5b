"""Several control planes, the real program under Pulumi's mocks, for every release in the catalog: the
load balancer in front of them, the joins and their order, and no join credential in any input."""

import hashlib
import json
import re
import shlex
from functools import cache

import pytest
import yaml

from components.shell import SCRIPTS
from kindling import catalog
from kindling.versions import parse_release
from policies import shapes
from tests.program_fixtures import depends_on
from tests.pulumi_harness import FREE_PORT, Deployment, run_program
from tests.support import stack_config, stack_names

CONTAINER, COMMAND, IMAGE = shapes.CONTAINER, shapes.COMMAND, shapes.REMOTE_IMAGE
REFERENCE = "k8s-1-19-1"
# What a minted credential looks like: a bootstrap token, or a certificate key (32 bytes in hex).
TOKEN = re.compile(r"\b[a-z0-9]{6}\.[a-z0-9]{16}\b")
CERTIFICATE_KEY = re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")


@cache
def deployed(stack: str, control_planes: int = 3, workers: int = 1, **overrides: str) -> Deployment:
    config = {**stack_config(stack), "controlPlanes": str(control_planes), "workers": str(workers), **overrides}
    return run_program(stack, config)


def labels(container) -> dict[str, str]:
    return {item["label"]: item["value"] for item in container.inputs["labels"]}


def containers(deployment: Deployment, role: str) -> list:
    return [c for c in deployment.of_type(CONTAINER) if labels(c)["kindling.role"] == role]


def running(deployment: Deployment, script: str) -> list:
    return sorted((c for c in deployment.of_type(COMMAND) if f" {script} " in c.inputs["create"] + " "), key=str)


def control_plane_joins(deployment: Deployment) -> list:
    return sorted(running(deployment, "kubeadm-join-control-plane.sh"), key=lambda c: c.name)


def init_documents(deployment: Deployment) -> dict:
    (init,) = running(deployment, "kubeadm-init.sh")
    return {d["kind"]: d for d in yaml.safe_load_all(init.inputs["stdin"])}


@pytest.mark.parametrize("stack", stack_names())
def test_kubeadm_reaches_the_api_through_the_load_balancer_only_when_there_are_several(stack):
    several = init_documents(deployed(stack))["ClusterConfiguration"]["controlPlaneEndpoint"]
    one = init_documents(deployed(stack, control_planes=1))["ClusterConfiguration"]["controlPlaneEndpoint"]
    assert several == f"{stack}-lb:6443"
    assert one == f"{stack}-control-plane:6443"


@pytest.mark.parametrize("stack", stack_names())
def test_further_control_planes_join_as_control_planes_with_no_credential_in_any_input(stack):
    deployment = deployed(stack)
    joins = control_plane_joins(deployment)
    assert [j.name for j in joins] == ["control-plane-2-join", "control-plane-3-join"]
    for index, join in enumerate(joins, start=1):
        node = f"{stack}-control-plane-{index + 1}"
        assert join.inputs["create"].endswith(
            f"kubeadm-join-control-plane.sh {stack}-control-plane {node} 10.96.0.0/12"
        ), "and the Service range, which the node keeps pods' untranslated packets for"
        (document,) = yaml.safe_load_all(join.inputs["stdin"])
        # The configuration's --control-plane and --certificate-key (kubeadm refuses both flags with --config).
        assert document["controlPlane"]["certificateKey"] == "@KINDLING_CERTIFICATE_KEY@"
        advertised = document["controlPlane"]["localAPIEndpoint"]["advertiseAddress"]
        assert advertised == f"10.{node_subnet(stack)}.{index + 2}"
        assert document["discovery"]["bootstrapToken"]["token"] == "@KINDLING_JOIN_TOKEN@"
        assert document["discovery"]["bootstrapToken"]["apiServerEndpoint"] == f"{stack}-lb:6443"
        script = join.inputs["environment"]["KINDLING_SCRIPT"]
        assert "kubeadm init phase upload-certs --upload-certs" in script
        assert "kubeadm join --config" in join.inputs["environment"]["KINDLING_NODE_SCRIPT"]
        assert "remove_pod_containers()" in join.inputs["environment"]["KINDLING_NODE_SCRIPT_LIBRARY"]


# Digests of what shaped a resource: image ids and the node image's pinned artifact checksums.
DIGEST = re.compile(r"(sha256:|pinned:[a-z0-9]+=|,[a-z0-9]+=)[0-9a-f]{64}")


@pytest.mark.parametrize("stack", stack_names())
def test_no_resource_input_holds_a_join_credential(stack):
    deployment = deployed(stack)
    joined_with = {join.name.removesuffix("-join"): join.inputs["stdin"] for join in control_plane_joins(deployment)}
    for registration in deployment.registrations:
        text = DIGEST.sub("", json.dumps(registration.inputs))
        if registration.type == CONTAINER and registration.name in joined_with:
            # The node is labelled with the digest of the configuration it joins with: the placeholders'.
            digest = labels(registration)["kindling.config-sha256"]
            assert digest == hashlib.sha256(joined_with[registration.name].encode()).hexdigest()
        if registration.type == CONTAINER and "labels" in registration.inputs:
            text = text.replace(labels(registration).get("kindling.config-sha256", "-"), "")
        assert not TOKEN.search(text), registration.name
        assert not CERTIFICATE_KEY.search(text), registration.name


def node_subnet(stack: str) -> str:
    version = parse_release(stack_config(stack)["kubernetesVersion"])
    return f"{version.minor}.{version.patch}"


@pytest.mark.parametrize("stack", stack_names())
def test_only_the_load_balancer_publishes_the_api_server_on_loopback(stack):
    deployment = deployed(stack)
    (balancer,) = containers(deployment, "load-balancer")
    assert balancer.inputs["name"] == f"{stack}-lb"
    assert balancer.inputs["ports"] == [{"internal": 6443, "ip": "127.0.0.1", "external": FREE_PORT, "protocol": "tcp"}]
    assert not balancer.inputs.get("privileged") and not balancer.inputs.get("mounts")
    assert balancer.inputs["networksAdvanced"] == [{"name": stack, "ipv4Address": f"10.{node_subnet(stack)}.254"}]
    nodes = containers(deployment, "control-plane") + containers(deployment, "worker")
    assert len(nodes) == 4
    assert all(not node.inputs["ports"] for node in nodes), "no node publishes a port"
    provider = deployment.of_type("pulumi:providers:kubernetes")[0]
    assert yaml.safe_load(provider.inputs["kubeconfig"])["clusters"][0]["cluster"]["server"] == (
        f"https://127.0.0.1:{FREE_PORT}"
    )
    assert deployment.output("apiServer")[0] == f"https://127.0.0.1:{FREE_PORT}"


@pytest.mark.parametrize("stack", stack_names())
def test_the_load_balancer_is_haproxy_built_here_on_the_node_images_base_listing_every_control_plane(stack):
    deployment = deployed(stack, control_planes=5)
    (image,) = [i for i in deployment.of_type(IMAGE) if i.name == "load-balancer-image"]
    build_args = image.inputs["build"]["buildArgs"]
    base = catalog.RELEASES[stack_config(stack)["kubernetesVersion"]].base_image
    assert build_args["BASE_IMAGE"] == base
    assert image.inputs["build"]["context"].endswith("/load-balancer-image")
    assert image.inputs["name"].startswith(f"kindling/{stack}-lb:haproxy-")
    assert image.inputs["keepLocally"] is False, "destroy removes the image"
    servers = [line.split() for line in build_args["HAPROXY_CONFIG"].splitlines() if line.strip().startswith("server ")]
    names = [f"{stack}-control-plane"] + [f"{stack}-control-plane-{n}" for n in range(2, 6)]
    assert [(s[1], s[2]) for s in servers] == [
        (name, f"10.{node_subnet(stack)}.{2 + index}:6443") for index, name in enumerate(names)
    ]
    (balancer,) = containers(deployment, "load-balancer")
    assert balancer.inputs["image"] == image.outputs["imageId"]


@pytest.mark.parametrize("keep", ["false", "true"])
def test_destroy_removes_the_load_balancers_build_cache_as_the_node_images_unless_kept(keep):
    deployment = deployed("k8s-1-34-0", keepBuildCache=keep)
    (image,) = [i for i in deployment.of_type(IMAGE) if i.name == "load-balancer-image"]
    (balancer,) = containers(deployment, "load-balancer")
    records = [c for c in running(deployment, "build-cache.sh") if c.name.startswith("load-balancer-image-build")]
    if keep == "true":
        assert records == []
        return
    started, cache = sorted(records, key=lambda c: "created" in c.inputs["create"])
    assert started.urn in image.dependencies, "the start is taken before the build"
    assert cache.inputs["environment"]["KINDLING_BUILT_IMAGE"] == image.inputs["name"]
    assert "build-cache.sh prune" in cache.inputs["delete"]
    assert cache.urn in balancer.dependencies, "the container goes before the image and its records"


def test_the_load_balancers_image_installs_haproxy_with_apt_and_pulls_nothing_else():
    dockerfile = (SCRIPTS.parent.parent / "load-balancer-image" / "Dockerfile").read_text()
    froms = [line for line in dockerfile.splitlines() if line.startswith("FROM ")]
    assert froms == ["FROM ${BASE_IMAGE}"]
    install = (SCRIPTS.parent.parent / "load-balancer-image" / "install-haproxy.sh").read_text()
    assert "apt-get install -y --no-install-recommends haproxy" in install
    assert "haproxy -c" in dockerfile, "a configuration HAProxy refuses fails the build"


def test_a_given_port_is_published_by_the_load_balancer_and_none_is_claimed():
    deployment = deployed(REFERENCE, apiServerPort="16443")
    (balancer,) = containers(deployment, "load-balancer")
    assert balancer.inputs["ports"][0]["external"] == 16443
    assert not running(deployment, "free-port.sh")


@pytest.mark.parametrize("stack", stack_names())
def test_joins_come_in_order_init_then_each_control_plane_then_workers(stack):
    deployment = deployed(stack, workers=2)
    (balancer,) = containers(deployment, "load-balancer")
    (init,) = running(deployment, "kubeadm-init.sh")
    (ready,) = running(deployment, "control-plane-ready.sh")
    second, third = control_plane_joins(deployment)
    assert depends_on(deployment, init, balancer), "kubeadm init reaches its API server through the load balancer"
    assert depends_on(deployment, second, init) and depends_on(deployment, second, ready)
    assert depends_on(deployment, third, second), "one control plane joins at a time"
    assert not depends_on(deployment, second, third)
    workers = running(deployment, "kubeadm-join.sh")
    assert len(workers) == 2
    assert all(depends_on(deployment, worker, third) for worker in workers)
    (addons,) = deployment.of_type("kindling:index:ClusterAddons")
    assert all(join.urn in addons.dependencies for join in (second, third, *workers))
    assert second.inputs["triggers"] == [
        next(c for c in deployment.of_type(CONTAINER) if c.name == "control-plane-2").id,
        init.id,
    ], "a new node container, or a new cluster, joins again"


@pytest.mark.parametrize("stack", stack_names())
def test_without_workers_every_control_plane_loses_the_taints_the_single_one_does(stack):
    (alone,) = running(deployed(stack, control_planes=1, workers=0), "kubeadm-init.sh")
    expected = [word for word in shlex.split(alone.inputs["create"]) if word.startswith("node-role.kubernetes.io/")]
    assert expected, "a control plane alone runs the pods"

    def removed_by(command) -> list[str]:
        return shlex.split(command.inputs["create"])[-len(expected) :]

    none = deployed(stack, workers=0)
    (init,) = running(none, "kubeadm-init.sh")
    assert removed_by(init) == expected
    assert [removed_by(join) for join in control_plane_joins(none)] == [expected, expected]
    for index, join in enumerate(control_plane_joins(deployed(stack, workers=1)), start=2):
        assert join.inputs["create"].endswith(f"{stack}-control-plane {stack}-control-plane-{index} 10.96.0.0/12"), (
            "taints stay"
        )


def test_adding_a_first_worker_joins_no_control_plane_again_and_replaces_nothing():
    none, one = deployed(REFERENCE, workers=0), deployed(REFERENCE, workers=1)
    assert all(join.inputs["update"] == "true" for join in control_plane_joins(none)), "never joined again"
    assert [j.inputs["triggers"] for j in control_plane_joins(none)] == [
        j.inputs["triggers"] for j in control_plane_joins(one)
    ], "nor replaced"
    before = {c.urn: c.inputs for c in none.registrations if c.type in (CONTAINER, IMAGE)}
    after = {c.urn: c.inputs for c in one.registrations if c.type in (CONTAINER, IMAGE)}
    assert {urn: after[urn] for urn in before} == before, "no node, image or load balancer changes"


def test_workers_scale_without_touching_the_control_planes():
    one, three = deployed(REFERENCE, workers=1), deployed(REFERENCE, workers=3)
    before = {r.urn: r.inputs for r in one.registrations if r.type != "pulumi:providers:kubernetes"}
    after = {r.urn: r.inputs for r in three.registrations}
    assert {urn: after[urn] for urn in before} == before
    assert len(after) - len(before) > 0


def test_five_control_planes():
    deployment = deployed(REFERENCE, control_planes=5, workers=0)
    assert len(containers(deployment, "control-plane")) == 5
    assert len(control_plane_joins(deployment)) == 4
    assert deployment.output("nodes")[0] == [f"{REFERENCE}-control-plane"] + [
        f"{REFERENCE}-control-plane-{n}" for n in range(2, 6)
    ]
    assert deployment.output("loadBalancer")[0] == f"{REFERENCE}-lb"
