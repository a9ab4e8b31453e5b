"""The real program under Pulumi's mocks: the resources a stack registers and how they hang together."""

import json
from functools import cache
from pathlib import Path

import pytest
import yaml

from cluster import node_image_args
from components.control_plane import parse_node_versions
from components.node_image import image_tag
from components.shell import SCRIPTS
from kindling import artifacts, catalog
from kindling.config import SpecError
from kindling.host import DockerHost
from kindling.spec import build_spec
from kindling.versions import is_exact_version, parse_release
from policies import shapes
from tests.pulumi_harness import FREE_PORT, Deployment, run_program
from tests.support import ROOT, stack_config, stack_names

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


# --- the node container -----------------------------------------------------------------------


@pytest.mark.parametrize("stack", stack_names())
def test_node_container_runs_like_a_kind_node(stack):
    node = control_plane(deployed(stack))
    inputs = node.inputs
    name = f"{stack}-control-plane"
    assert inputs["name"] == inputs["hostname"] == name
    assert inputs["privileged"] is True
    assert mount(node, "/lib/modules") == {
        "type": "bind",
        "source": "/lib/modules",
        "target": "/lib/modules",
        "readOnly": True,
    }
    assert inputs["tmpfs"] == {"/run": "", "/tmp": ""}
    assert inputs["volumes"] == [{"containerPath": "/var"}]
    # label=disable: Docker adds it to a privileged container; sending it keeps a refresh from replacing the node.
    assert inputs["securityOpts"] == ["seccomp=unconfined", "apparmor=unconfined", "label=disable"]
    assert labels(node)["kindling.cluster"] == stack
    assert labels(node)["kindling.role"] == "control-plane"
    assert inputs["restart"] == "on-failure"
    assert inputs["ports"] == [{"internal": 6443, "ip": "127.0.0.1", "external": FREE_PORT, "protocol": "tcp"}]
    assert inputs["init"] is False and inputs["tty"] is True
    assert inputs["cgroupnsMode"] == "private"


def test_node_gets_its_fixed_address_on_the_cluster_network():
    deployment = deployed(REFERENCE)
    (network,) = deployment.of_type("docker:index/network:Network")
    assert network.inputs["ipamConfigs"] == [{"subnet": "10.19.1.0/24", "gateway": "10.19.1.1"}]
    node = control_plane(deployment)
    assert node.inputs["networksAdvanced"] == [{"name": REFERENCE, "ipv4Address": "10.19.1.2"}]


def test_a_given_api_server_port_is_published_as_given():
    node = control_plane(deployed_with(REFERENCE, {"apiServerPort": "16443"}))
    assert node.inputs["ports"] == [{"internal": 6443, "ip": "127.0.0.1", "external": 16443, "protocol": "tcp"}]


def test_node_waits_for_systemd_before_anything_is_exec_d():
    deployment = deployed(REFERENCE)
    (booted,) = [c for c in deployment.of_type(COMMAND) if "wait-for-systemd.sh" in c.inputs["create"]]
    assert f"{REFERENCE}-control-plane" in booted.inputs["create"]
    assert depends_on(deployment, booted, control_plane(deployment))
    assert depends_on(deployment, init_command(deployment), booted)


def test_capabilities_mode_names_capabilities_instead_of_privileged():
    node = control_plane(deployed_with(REFERENCE, {"nodeSecurity": "capabilities"}))
    inputs = node.inputs
    assert not inputs.get("privileged")
    adds = inputs["capabilities"]["adds"]
    assert {"CAP_SYS_ADMIN", "CAP_NET_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_DAC_OVERRIDE", "CAP_SYS_CHROOT"} <= set(
        adds
    )
    assert "CAP_SYS_RESOURCE" not in adds and "ALL" not in adds
    assert inputs["securityOpts"] == ["seccomp=unconfined", "apparmor=unconfined"]
    assert inputs["cgroupnsMode"] == "private"
    assert mount(node, "/lib/modules")["readOnly"] is True


@pytest.mark.parametrize("security", ["privileged", "capabilities"])
def test_no_node_ever_binds_the_host_cgroup_tree(security):
    # A node's systemd would rewrite the host's cgroup mounts through such a bind.
    deployment = deployed_with(REFERENCE, {"nodeSecurity": security, "workers": "1"})
    for node in deployment.of_type(CONTAINER):
        assert all(not m["target"].startswith("/sys/fs/cgroup") for m in node.inputs.get("mounts", []))


def test_the_api_server_port_is_claimed_once_and_kept():
    deployment = deployed(REFERENCE)
    (claim,) = [c for c in deployment.of_type(COMMAND) if "free-port.sh" in c.inputs["create"]]
    assert "triggers" not in claim.inputs, "re-running the claim would move the API server to another port"
    assert claim.inputs["create"].endswith("127.0.0.1")
    fixed = deployed_with(REFERENCE, {"apiServerPort": "16443"})
    assert not [c for c in fixed.of_type(COMMAND) if "free-port.sh" in c.inputs["create"]]


def test_capabilities_mode_on_cgroup_v2_warns_about_devices():
    host = DockerHost(cgroup_version=2, architecture="x86_64", has_lib_modules=True)
    deployment = deployed_with(REFERENCE, {"nodeSecurity": "capabilities"}, docker_host=host)
    assert any("default devices" in warning for warning in deployment.warnings)
    assert not deployed_with(REFERENCE, {"nodeSecurity": "capabilities"}).warnings


def test_host_without_lib_modules_gets_no_mount_and_a_warning():
    host = DockerHost(cgroup_version=1, architecture="x86_64", has_lib_modules=False)
    deployment = deployed_with(REFERENCE, {}, docker_host=host)
    node = control_plane(deployment)
    assert mount(node, "/lib/modules") is None
    assert labels(node)["kindling.host-lib-modules"] == "absent-on-host"
    assert any("/lib/modules" in warning for warning in deployment.warnings)


@pytest.mark.parametrize("recorded, now", [(False, True), (True, False)])
def test_lib_modules_stays_as_the_cluster_was_created_when_the_host_changes(recorded, now):
    # A kernel package installed on the host later must not replace the nodes of a running cluster.
    host = DockerHost(cgroup_version=1, architecture="x86_64", has_lib_modules=now, recorded_lib_modules=recorded)
    deployment = deployed_with(REFERENCE, {"workers": "1"}, docker_host=host)
    for node in deployment.of_type(CONTAINER):
        assert (mount(node, "/lib/modules") is not None) == recorded
        assert labels(node)["kindling.host-lib-modules"] == ("mounted" if recorded else "absent-on-host")
    (warning,) = [w for w in deployment.warnings if "/lib/modules" in w]
    assert "keep it" in warning and "destroy" in warning


# --- kubeadm ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", stack_names())
def test_init_command_carries_the_config_of_its_release(stack):
    deployment = deployed(stack)
    init = init_command(deployment)
    documents = {d["kind"]: d for d in yaml.safe_load_all(init.inputs["stdin"])}
    version = stack_config(stack)["kubernetesVersion"]
    traits = catalog.traits_for(parse_release(version))
    assert documents["ClusterConfiguration"]["kubernetesVersion"] == f"v{version}"
    assert documents["ClusterConfiguration"]["apiVersion"] == traits.kubeadm_api
    assert documents["KubeProxyConfiguration"]["conntrack"] == {"maxPerCore": 0}
    assert (
        "kubeadm init --config /etc/kindling/kubeadm.yaml --skip-phases=preflight"
        in init.inputs["environment"]["KINDLING_SCRIPT"]
    )
    assert depends_on(deployment, init, control_plane(deployment))
    assert init.inputs["triggers"] == [control_plane(deployment).id], "a new node container is initialised again"


def test_single_node_cluster_removes_the_control_plane_taints_of_its_release():
    create = init_command(deployed(REFERENCE)).inputs["create"]
    assert create.endswith("node-role.kubernetes.io/master")
    create_124 = init_command(deployed("k8s-1-24-0")).inputs["create"]
    assert create_124.endswith("node-role.kubernetes.io/master node-role.kubernetes.io/control-plane")
    with_workers = init_command(deployed_with(REFERENCE, {"workers": "1"})).inputs["create"]
    assert "node-role.kubernetes.io" not in with_workers.rsplit("'", 1)[-1]


def test_an_edited_script_never_initialises_or_joins_a_live_node_again():
    # pulumi-command re-runs create on any input change unless the Command has an update step.
    deployment = deployed_with(REFERENCE, {"workers": "1"})
    (join,) = [c for c in deployment.of_type(COMMAND) if "kubeadm-join.sh" in c.inputs["create"]]
    assert init_command(deployment).inputs["update"] == "true"
    assert join.inputs["update"] == "true"
    (claim,) = [c for c in deployment.of_type(COMMAND) if "free-port.sh" in c.inputs["create"]]
    assert claim.inputs["update"] == 'printf "%s" "$PULUMI_COMMAND_STDOUT"', "the port a cluster has, it keeps"


def test_scripts_travel_in_the_environment_so_errors_read_short():
    deployment = deployed(REFERENCE)
    init = init_command(deployment)
    assert init.inputs["create"] == (
        f'docker exec -i {REFERENCE}-control-plane /bin/sh -c "$KINDLING_SCRIPT" kubeadm-init.sh '
        f"{REFERENCE}-control-plane node-role.kubernetes.io/master"
    )
    assert init.inputs["environment"]["KINDLING_SCRIPT"] == (SCRIPTS / "kubeadm-init.sh").read_text()


def test_changing_the_kubeadm_config_replaces_the_node():
    default = labels(control_plane(deployed(REFERENCE)))["kindling.config-sha256"]
    other = labels(control_plane(deployed_with(REFERENCE, {"podSubnet": "10.240.0.0/16"})))["kindling.config-sha256"]
    assert default != other
    assert control_plane(deployed(REFERENCE)).delete_before_replace


@pytest.mark.parametrize("stack", stack_names())
def test_kubeconfig_is_secret_from_the_command_to_the_provider(stack):
    deployment = deployed(stack)
    command = kubeconfig_command(deployment)
    assert command.additional_secret_outputs == ["stdout"]
    assert command.inputs["logging"] == "stderr"
    (provider,) = deployment.of_type(K8S_PROVIDER)
    assert "kubeconfig" in provider.secret_inputs
    assert command.urn in provider.dependencies
    kubeconfig = yaml.safe_load(provider.inputs["kubeconfig"])
    assert kubeconfig["clusters"][0]["cluster"]["server"] == f"https://127.0.0.1:{FREE_PORT}"
    exported, secret = deployment.output("kubeconfig")
    assert secret and exported == provider.inputs["kubeconfig"]


@pytest.mark.parametrize("stack", stack_names())
def test_every_release_goes_through_the_cluster_provider_with_a_pinned_version(stack):
    deployment = deployed(stack)
    (provider,) = deployment.of_type(K8S_PROVIDER)
    releases = deployment.of_type(RELEASE)
    assert releases, "the pod network is a Helm release"
    for release in releases:
        assert release.provider.startswith(provider.urn + "::")
        assert is_exact_version(release.inputs["version"])


def test_what_runs_in_the_cluster_goes_with_the_clusters_provider():
    # Deleting a release asks its API server; when the cluster itself is being replaced or
    # destroyed (its provider goes too) that server may be gone, and the release goes anyway.
    deployment = deployed_with(REFERENCE, {"cni": "flannel"})
    (provider,) = deployment.of_type(K8S_PROVIDER)
    in_cluster = deployment.of_type(RELEASE) + deployment.of_type("kubernetes:core/v1:Namespace")
    assert len(in_cluster) == 2
    assert all(r.deleted_with == provider.urn for r in in_cluster)
    assert provider.retain_on_delete, "deleting a provider removes nothing, and fails mid-replacement on 3.184"
    assert not any(r.retain_on_delete for r in in_cluster), "a chart removed from a live cluster is uninstalled"


def test_reference_stack_installs_flannel_by_default_keeping_the_releases_own_cni_plugin():
    deployment = deployed(REFERENCE)
    (flannel,) = deployment.of_type(RELEASE)
    assert flannel.inputs["chart"] == "https://github.com/flannel-io/flannel/releases/download/v0.26.7/flannel.tgz"
    assert flannel.inputs["namespace"] == "kube-flannel"
    assert flannel.inputs["values"]["podCidr"] == "10.244.0.0/16"
    # CNI plugins 0.8.7 carry flannel's plugin: the chart's copy goes elsewhere, /opt/cni/bin keeps 0.8.7's.
    assert flannel.inputs["values"]["flannel"]["cniBinDir"] != "/opt/cni/bin"


def test_newer_releases_take_the_flannel_cni_plugin_from_the_chart():
    (flannel,) = deployed("k8s-1-34-0").of_type(RELEASE)
    assert "flannel" not in flannel.inputs["values"], "the chart's default cniBinDir, /opt/cni/bin"


def test_calico_comes_from_its_release_asset():
    deployment = deployed_with(REFERENCE, {"cni": "calico"})
    (calico,) = deployment.of_type(RELEASE)
    assert calico.inputs["chart"] == (
        "https://github.com/projectcalico/calico/releases/download/v3.18.6/tigera-operator-v3.18.6-1.tgz"
    )
    assert calico.inputs["namespace"] == "tigera-operator"
    assert calico.inputs["values"]["installation"]["calicoNetwork"]["ipPools"] == [{"cidr": "10.244.0.0/16"}]


def test_extra_charts_follow_the_pod_network():
    chart = {
        "name": "ingress",
        "repo": "https://kubernetes.github.io/ingress-nginx",
        "chart": "ingress-nginx",
        "version": "4.0.1",
        "namespace": "ingress",
    }
    deployment = deployed_with(REFERENCE, {"charts": json.dumps([chart])})
    ingress = deployment.named("addons-ingress")
    flannel = deployment.named("addons-flannel")
    assert ingress.inputs["repositoryOpts"] == {"repo": "https://kubernetes.github.io/ingress-nginx"}
    assert ingress.inputs["version"] == "4.0.1"
    assert flannel.urn in ingress.dependencies


@pytest.mark.parametrize("workers", [0, 1, 3])
def test_n_workers_give_n_join_commands(workers):
    deployment = deployed_with(REFERENCE, {"workers": str(workers)})
    joins = [c for c in deployment.of_type(COMMAND) if "kubeadm-join.sh" in c.inputs["create"]]
    assert len(joins) == workers
    nodes = deployment.of_type(CONTAINER)
    assert sorted(labels(n)["kindling.role"] for n in nodes) == ["control-plane"] + ["worker"] * workers
    init = init_command(deployment)
    for index, join in enumerate(sorted(joins, key=lambda j: j.name)):
        worker = f"{REFERENCE}-worker-{index + 1}"
        assert worker in join.inputs["create"]
        assert depends_on(deployment, join, init)
        (document,) = yaml.safe_load_all(join.inputs["stdin"])
        assert document["kind"] == "JoinConfiguration"
        assert document["nodeRegistration"]["kubeletExtraArgs"]["node-ip"] == f"10.19.1.{3 + index}"
    worker_nodes = [n for n in nodes if labels(n)["kindling.role"] == "worker"]
    assert all(not n.inputs["ports"] for n in worker_nodes), "only the control plane publishes a port"


def test_no_join_credential_is_ever_an_input():
    deployment = deployed_with(REFERENCE, {"workers": "1"})
    (join,) = [c for c in deployment.of_type(COMMAND) if "kubeadm-join.sh" in c.inputs["create"]]
    (document,) = yaml.safe_load_all(join.inputs["stdin"])
    assert document["discovery"]["bootstrapToken"]["token"] == "@KINDLING_JOIN_TOKEN@"
    assert "kubeadm token create --ttl 15m" in join.inputs["environment"]["KINDLING_SCRIPT"]
    assert "kubeadm join --config" in join.inputs["environment"]["KINDLING_NODE_SCRIPT"]


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


# --- preloaded images ----------------------------------------------------------------------------------

PRELOAD = ["registry.k8s.io/kube-apiserver:v1.19.1", "registry.k8s.io/pause:3.2"]


def test_preloaded_images_are_baked_into_the_node_image_once_not_loaded_into_each_node(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    deployment = deployed_with(REFERENCE, {"preloadImages": json.dumps(PRELOAD), "workers": "1"})
    remote_images = deployment.of_type("docker:index/remoteImage:RemoteImage")
    images = [i for i in remote_images if i.inputs["name"] in PRELOAD]
    assert sorted(i.inputs["name"] for i in images) == sorted(PRELOAD)
    assert all(i.inputs["keepLocally"] is True for i in images), "the images are the user's: never removed"
    assert not [c for c in deployment.of_type(COMMAND) if "load-images.sh" in c.inputs["create"]]

    (node_image,) = [i for i in remote_images if "build" in i.inputs]
    (staging,) = [c for c in deployment.of_type(COMMAND) if "stage-context.sh" in c.inputs["create"]]
    assert staging.inputs["environment"]["KINDLING_STAGED_IMAGES"] == "\n".join(PRELOAD)
    assert node_image.inputs["build"]["context"] in staging.inputs["create"]
    image_ids = [i.outputs["imageId"] for i in sorted(images, key=lambda i: PRELOAD.index(i.inputs["name"]))]
    assert staging.inputs["triggers"][1:] == image_ids, "a changed image is staged again"
    assert staging.delete_before_replace, "staged again at the same path: the old one goes first"
    assert staging.urn in node_image.dependencies
    assert node_image.inputs["name"].startswith(f"kindling/{REFERENCE}:v1.19.1-")
    for node in deployment.of_type(CONTAINER):
        assert depends_on(deployment, node, node_image)


def test_the_node_image_tag_follows_the_baked_images():
    spec = build_spec(stack_config(REFERENCE), REFERENCE)
    args = node_image_args(spec, "x86_64")
    assert image_tag(args, []) == image_tag(args), "no baked images: the tag stacks already have"
    assert image_tag(args, ["sha256:a"]) != image_tag(args)
    assert image_tag(args, ["sha256:a"]) != image_tag(args, ["sha256:b"]), "a changed image builds a new node image"


def test_a_prebuilt_node_image_gets_the_preloaded_images_in_each_node_before_kubeadm():
    overrides = {"preloadImages": json.dumps(PRELOAD), "workers": "1", "nodeImage": "ctr_kubernetes-v1.19.1-base:v0.1"}
    deployment = deployed_with(REFERENCE, overrides)
    images = [i for i in deployment.of_type("docker:index/remoteImage:RemoteImage") if i.inputs["name"] in PRELOAD]
    loads = [c for c in deployment.of_type(COMMAND) if "load-images.sh" in c.inputs["create"]]
    assert len(loads) == 2, "the user's image is not rebuilt: one load per node"
    image_ids = {i.inputs["name"]: i.outputs["imageId"] for i in images}
    (control_plane_load,) = [c for c in loads if f"{REFERENCE}-control-plane" in c.inputs["create"]]
    (worker_load,) = [c for c in loads if f"{REFERENCE}-worker-1" in c.inputs["create"]]
    # A worker gets what it runs: not the control plane's static pods (here, the API server).
    for load, names in ((control_plane_load, PRELOAD), (worker_load, [n for n in PRELOAD if "apiserver" not in n])):
        assert load.inputs["create"].endswith(" ".join(names))
        assert load.inputs["triggers"][1:] == [image_ids[n] for n in names], "a changed image loads again"
    assert depends_on(deployment, init_command(deployment), control_plane_load)
    (join,) = [c for c in deployment.of_type(COMMAND) if "kubeadm-join.sh" in c.inputs["create"]]
    assert depends_on(deployment, join, worker_load)


def test_no_preloaded_images_no_load_commands():
    deployment = deployed(REFERENCE)
    assert not [c for c in deployment.of_type(COMMAND) if "load-images.sh" in c.inputs["create"]]


def test_unpinned_preloaded_image_is_refused():
    with pytest.raises(SpecError, match=r"kindling:preloadImages\[1\]: 'busybox' has no tag"):
        deployed_with(REFERENCE, {"preloadImages": json.dumps(["busybox:1.36", "busybox"])})


# --- local artifact directories ----------------------------------------------------------------------------

MIRRORED = ("kubernetes", "containerd", "runc", "cniPlugins", "crictl", "helm")


def local_mirror(root, spec_version="1.34.0", arch="amd64"):
    """A directory per download source, laid out like upstream, with every file the release needs."""
    spec = build_spec({"kubernetesVersion": spec_version}, "x")
    for artifact in artifacts.node_artifacts(spec):
        paths = [artifact.path]
        if artifact.checksum.startswith("file:"):
            paths.append(artifact.checksum.removeprefix("file:"))
        for path in paths:
            file = root / artifact.source / path.format(arch=arch)
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(f"{artifact.name} {path}\n")
    return {source: f"file://{root / source}" for source in MIRRORED}


def test_local_download_directories_are_staged_into_the_build_context(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    downloads = local_mirror(tmp_path / "mirror")
    deployment = deployed_with("k8s-1-34-0", {"downloads": json.dumps(downloads)})
    (image,) = deployment.of_type("docker:index/remoteImage:RemoteImage")
    build = image.inputs["build"]
    context = Path(build["context"])
    assert context.parent == tmp_path / "cache" / "kindling" / "node-image-contexts"
    assert "additionalContexts" not in build, "named build contexts need Docker 23; staging works on 20.10"
    assert "kubernetes dir" in build["buildArgs"]["KINDLING_DOWNLOADS"]
    assert not list((ROOT / "node-image" / "artifacts").glob("*/")), "the repository's context stays clean"
    (owner,) = [c for c in deployment.of_type(COMMAND) if "stage-context.sh" in c.inputs["create"]]
    assert str(context) in owner.inputs["create"]
    staged = dict(line.split("\t") for line in owner.inputs["environment"]["KINDLING_STAGED_FILES"].splitlines())
    kubeadm = "artifacts/kubernetes/v1.34.0/bin/linux/amd64/kubeadm"
    assert staged[kubeadm] == str(tmp_path / "mirror/kubernetes/v1.34.0/bin/linux/amd64/kubeadm")
    assert "artifacts/containerd/v2.1.4/containerd-2.1.4-linux-amd64.tar.gz.sha256sum" in staged
    assert owner.inputs["delete"] == f"rm -rf {context}", "destroy removes the staged context"
    assert owner.inputs["triggers"] == [str(context)]
    assert owner.urn in image.dependencies, "staged before the image is built, never during a preview"


def test_a_missing_local_artifact_is_refused_before_anything_exists(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    downloads = local_mirror(tmp_path / "mirror")
    (tmp_path / "mirror/runc/v1.3.0/runc.amd64").unlink()
    with pytest.raises(SpecError, match=r"kindling:downloads\.runc: .*/mirror/runc has no v1\.3\.0/runc\.amd64"):
        deployed_with("k8s-1-34-0", {"downloads": json.dumps(downloads)})


def test_downloads_from_the_internet_build_from_the_repositorys_context():
    (image,) = deployed(REFERENCE).of_type("docker:index/remoteImage:RemoteImage")
    assert Path(image.inputs["build"]["context"]) == ROOT / "node-image"
