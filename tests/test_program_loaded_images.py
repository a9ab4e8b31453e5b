"""The real program under Pulumi's mocks: your own images (kindling:images) in a running cluster."""

import json

import pytest

from kindling.config import SpecError
from kindling.spec import build_spec
from tests.program_fixtures import COMMAND, CONTAINER, REFERENCE, RELEASE, depends_on, deployed_with
from tests.pulumi_harness import Deployment, Registration, local_image_id
from tests.support import stack_config

LOADED = "kindling:index:LoadedImages"
ADDONS = "kindling:index:ClusterAddons"  # the charts and their component
APP, TOOL = "app:dev", "registry.local:5000/team/tool:1.2"


def with_images(images: list[str], image_ids: dict[str, str] | None = None, **config: str) -> Deployment:
    return deployed_with(REFERENCE, {"images": json.dumps(images), **config}, image_ids=image_ids)


def loads(deployment: Deployment) -> dict[str, Registration]:
    """The load Commands, by the image each loads."""
    found = [r for r in deployment.of_type(COMMAND) if f"{LOADED}$" in r.urn]
    return {r.inputs["environment"]["KINDLING_IMAGE"]: r for r in found}


def outside_the_images(deployment: Deployment) -> dict[str, Registration]:
    return {r.urn: r for r in deployment.registrations if LOADED not in r.urn}


def test_each_image_is_one_command_that_loads_it_into_every_node_once_they_run():
    deployment = with_images([APP, TOOL], controlPlanes="3", workers="2")
    nodes = deployment.of_type(CONTAINER)
    planes = [f"{REFERENCE}-control-plane", f"{REFERENCE}-control-plane-2", f"{REFERENCE}-control-plane-3"]
    node_names = [*planes, f"{REFERENCE}-worker-1", f"{REFERENCE}-worker-2"]  # not the load balancer
    found = loads(deployment)
    assert sorted(found) == [APP, TOOL]
    app = found[APP]
    assert app.name == "images-docker.io/library/app:dev", "named as the nodes name it"
    assert found[TOOL].name == f"images-{TOOL}"
    assert app.inputs["create"].endswith("images-into-nodes.sh load " + " ".join(node_names))
    assert app.inputs["delete"].endswith("images-into-nodes.sh remove " + " ".join(node_names))
    environment = app.inputs["environment"]
    assert environment["KINDLING_IMAGE_ID"] == local_image_id(APP), "the id the engine has now"
    containers = {n.inputs["name"]: n.id for n in nodes}
    assert environment["KINDLING_NODE_CONTAINERS"] == " ".join(containers[name] for name in node_names)
    assert "triggers" not in app.inputs, "triggers would replace it; a new id or node is an update"
    for node in nodes:
        if node.inputs["name"] != f"{REFERENCE}-lb":
            systemd = deployment.named(f"{node.name}-systemd")
            assert depends_on(deployment, app, systemd), "loaded once the node has booted"
    assert app.deleted_with == deployment.of_type("docker:index/network:Network")[0].urn, (
        "destroying the cluster removes nothing from nodes that go too"
    )
    assert deployment.output("images")[0] == {APP: local_image_id(APP), TOOL: local_image_id(TOOL)}


def test_nothing_the_cluster_is_made_of_waits_for_the_images_but_the_charts():
    deployment = with_images([APP], workers="1")
    (app,) = loads(deployment).values()
    for resource in deployment.registrations:
        if resource.type not in (RELEASE, ADDONS) and LOADED not in resource.urn:
            assert not depends_on(deployment, resource, app), resource.name
    # The SDK registers a component's children once what the component depends on is done.
    (addons,) = deployment.of_type(ADDONS)
    assert depends_on(deployment, addons, app), "a chart may run your image"
    assert {release.parent for release in deployment.of_type(RELEASE)} == {addons.urn}


def changes(before: Deployment, after: Deployment) -> dict[str, list[str]]:
    """What the engine would do to each resource between two runs, by name: created, deleted, or the
    inputs that changed. A changed input of a node container or an image replaces it; of a Command,
    its triggers replace it and anything else updates it."""
    old, new = outside_the_images(before) | loads_by_urn(before), outside_the_images(after) | loads_by_urn(after)
    found = {}
    for urn in old.keys() | new.keys():
        if urn not in new:
            found[old[urn].name] = ["deleted"]
        elif urn not in old:
            found[new[urn].name] = ["created"]
        else:
            inputs = (old[urn].inputs, new[urn].inputs)
            changed = sorted(k for k in inputs[0].keys() | inputs[1].keys() if inputs[0].get(k) != inputs[1].get(k))
            if changed:
                found[new[urn].name] = changed
    return found


def loads_by_urn(deployment: Deployment) -> dict[str, Registration]:
    return {r.urn: r for r in loads(deployment).values()}


def test_adding_removing_or_rebuilding_an_image_replaces_no_node_and_not_the_node_image():
    none, app = deployed_with(REFERENCE, {"workers": "1"}), with_images([APP], workers="1")
    both = with_images([APP, TOOL], workers="1")
    rebuilt = with_images([APP, TOOL], {APP: "sha256:" + "1" * 64}, workers="1")
    app_load = f"images-{'docker.io/library/app:dev'}"
    assert changes(none, app) == {app_load: ["created"]}, "nothing else changes"
    assert changes(app, both) == {f"images-{TOOL}": ["created"]}, "the other image's load is left alone"
    assert changes(both, app) == {f"images-{TOOL}": ["deleted"]}, "removed from the nodes, nothing else"
    assert changes(app, none) == {app_load: ["deleted"]}
    assert changes(both, rebuilt) == {app_load: ["environment"]}, "an update of that load alone: no triggers"
    assert loads(rebuilt)[APP].inputs["environment"]["KINDLING_IMAGE_ID"] == "sha256:" + "1" * 64
    for before, after in ((none, app), (app, both), (both, rebuilt)):
        for urn, resource in outside_the_images(after).items():
            assert sorted(resource.dependencies) == sorted(outside_the_images(before)[urn].dependencies) or (
                resource.type in (RELEASE, ADDONS)
            ), f"{resource.name} waits for the same as before"


def test_a_worker_added_later_gets_every_image_by_an_update_of_the_load():
    one, two = with_images([APP], workers="1"), with_images([APP], workers="2")
    assert changes(one, two)["images-docker.io/library/app:dev"] == ["create", "delete", "environment"]
    assert loads(two)[APP].inputs["create"].endswith(f"{REFERENCE}-worker-1 {REFERENCE}-worker-2")


def test_the_same_image_written_another_way_is_the_same_resource():
    short, long = with_images([APP]), with_images(["docker.io/library/app:dev"])
    assert loads(short)[APP].urn == loads(long)["docker.io/library/app:dev"].urn


def refusal(images: list[str], **config: str) -> list[str]:
    with pytest.raises(SpecError) as refused:
        build_spec({**stack_config(REFERENCE), "images": json.dumps(images), **config}, REFERENCE)
    return refused.value.problems


@pytest.mark.parametrize(
    ("image", "why"),
    [
        ("app", "has no tag"),
        ("app:latest", "has the latest tag"),
        ("localhost:5000/app", "has no tag"),
        ("app@sha256:" + "a" * 64, "names a digest"),
        ("app:dev@sha256:" + "a" * 64, "names a digest"),
        ("App:dev", "is not an image reference Docker accepts"),
        ("my app:dev", "is not an image reference Docker accepts"),
        ("app\x00:dev", "is not an image reference Docker accepts"),
    ],
)
def test_an_image_a_pod_would_not_take_from_the_node_is_refused(image, why):
    (problem,) = refusal(["ok:1", image])
    assert problem.startswith(f"kindling:images[1]: {image!r} {why}")


def test_an_image_twice_or_also_preloaded_is_refused():
    problems = refusal([APP, "docker.io/library/app:dev", "base:1"], preloadImages=json.dumps(["base:1"]))
    assert problems == [
        "kindling:images[1]: 'docker.io/library/app:dev' is 'app:dev' again (both are docker.io/library/app:dev "
        "in the nodes)",
        "kindling:images[2]: 'base:1' is in kindling:preloadImages too; list it in one of them (preloadImages: "
        "baked into the node image, before kubeadm; images: loaded into running nodes)",
    ]
