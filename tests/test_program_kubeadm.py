"""The real program under Pulumi's mocks: kubeadm, the kubeconfig, the pod network, charts and workers."""

import json
import shlex

import pytest
import yaml

from components.shell import SCRIPTS
from kindling import catalog
from kindling.versions import is_exact_version, parse_release
from tests.program_fixtures import (
    COMMAND,
    CONTAINER,
    K8S_PROVIDER,
    REFERENCE,
    RELEASE,
    control_plane,
    depends_on,
    deployed,
    deployed_with,
    init_command,
    kubeconfig_command,
    labels,
)
from tests.pulumi_harness import FREE_PORT
from tests.support import stack_config, stack_names

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
        f'docker exec -i {REFERENCE}-control-plane /bin/sh -c "$KINDLING_SCRIPT_LIBRARY$KINDLING_SCRIPT" '
        f"kubeadm-init.sh {REFERENCE}-control-plane 10.96.0.0/12 node-role.kubernetes.io/master"
    )
    assert init.inputs["environment"]["KINDLING_SCRIPT"] == (SCRIPTS / "kubeadm-init.sh").read_text()
    # The functions it calls travel with it, read ahead of it: nothing of the node image's.
    assert init.inputs["environment"]["KINDLING_SCRIPT_LIBRARY"] == (SCRIPTS / "pod-containers.sh").read_text()


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


def test_the_join_carries_the_node_side_script_and_the_library_it_calls():
    deployment = deployed_with(REFERENCE, {"workers": "1"})
    (join,) = [c for c in deployment.of_type(COMMAND) if "kubeadm-join.sh" in c.inputs["create"]]
    environment = join.inputs["environment"]
    assert environment["KINDLING_NODE_SCRIPT"] == (SCRIPTS / "kubeadm-join-node.sh").read_text()
    assert environment["KINDLING_NODE_SCRIPT_LIBRARY"] == (SCRIPTS / "pod-containers.sh").read_text()
    assert '/bin/sh -c "$node_script"' in environment["KINDLING_SCRIPT"]
    assert "node_script=$KINDLING_NODE_SCRIPT_LIBRARY$KINDLING_NODE_SCRIPT\n" in environment["KINDLING_SCRIPT"]


def test_every_node_is_told_the_service_range_it_keeps_untranslated_packets_for():
    deployment = deployed_with(REFERENCE, {"workers": "1", "serviceSubnet": "10.100.0.0/16"})
    (join,) = [c for c in deployment.of_type(COMMAND) if "kubeadm-join.sh" in c.inputs["create"]]
    assert shlex.split(init_command(deployment).inputs["create"])[-1] == "10.100.0.0/16", "no taint removed: a worker"
    assert join.inputs["create"].endswith(
        f"kubeadm-join.sh {REFERENCE}-control-plane {REFERENCE}-worker-1 10.100.0.0/16"
    )
