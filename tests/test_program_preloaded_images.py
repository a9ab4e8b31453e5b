"""The real program under Pulumi's mocks: preloaded images."""

import json

import pytest

from cluster import node_image_args
from components.node_image import image_tag
from kindling.config import SpecError
from kindling.spec import build_spec
from tests.program_fixtures import (
    COMMAND,
    CONTAINER,
    REFERENCE,
    depends_on,
    deployed,
    deployed_with,
    init_command,
)
from tests.support import stack_config

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
