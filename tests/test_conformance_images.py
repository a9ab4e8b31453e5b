"""make conformance: which of the suite's images are built, and how each is made here (no Docker)."""

from pathlib import Path

import pytest

from conformance import images
from conformance.suite import Suite

LISTED_1_19 = (
    "docker.io/library/busybox:1.29",
    "docker.io/library/httpd:2.4.38-alpine",
    "docker.io/library/nginx:1.14-alpine",
    "gcr.io/authenticated-image-pulling/alpine:3.7",
    "gcr.io/k8s-authenticated-test/agnhost:2.6",
    "gcr.io/kubernetes-e2e-test-images/cuda-vector-add:1.0",
    "gcr.io/kubernetes-e2e-test-images/kitten:1.0",
    "gcr.io/kubernetes-e2e-test-images/sample-apiserver:1.17",
    "gcr.io/kubernetes-e2e-test-images/volume/nfs:1.0",
    "invalid.com/invalid/alpine:3.1",
    "k8s.gcr.io/e2e-test-images/agnhost:2.20",
    "k8s.gcr.io/etcd:3.4.13-0",
    "k8s.gcr.io/pause:3.2",
)


def context(tmp_path: Path, listed=LISTED_1_19) -> images.Context:
    tree = tmp_path / "src"
    suite = Suite("1.19.1", tmp_path / "e2e.test", tmp_path / "ginkgo", 1, tree, None)
    bundle = ("registry.k8s.io/coredns:1.7.0", "registry.k8s.io/etcd:3.4.13-0", "registry.k8s.io/pause:3.2")
    return images.Context(suite, "kindling/debian:bookworm-1", bundle, listed, tmp_path / "bin", tmp_path / "log")


def test_images_whose_pull_must_fail_and_those_no_conformance_test_runs_are_not_built():
    built = [reference for reference in LISTED_1_19 if images.wanted(reference)]
    assert built == [
        "docker.io/library/busybox:1.29",
        "docker.io/library/httpd:2.4.38-alpine",
        "docker.io/library/nginx:1.14-alpine",
        "gcr.io/kubernetes-e2e-test-images/kitten:1.0",
        "gcr.io/kubernetes-e2e-test-images/sample-apiserver:1.17",
        "k8s.gcr.io/e2e-test-images/agnhost:2.20",
        "k8s.gcr.io/etcd:3.4.13-0",
        "k8s.gcr.io/pause:3.2",
    ]


@pytest.mark.parametrize(
    "reference, name, tag",
    [
        ("k8s.gcr.io/e2e-test-images/agnhost:2.20", "agnhost", "2.20"),
        ("registry.k8s.io/e2e-test-images/volume/nfs:1.4", "nfs", "1.4"),
        ("nginx:1.14-alpine", "nginx", "1.14-alpine"),
        ("localhost:5000/thing", "thing", ""),
    ],
)
def test_an_image_is_known_by_its_last_path_element(reference, name, tag):
    assert (images.short_name(reference), images.tag_of(reference)) == (name, tag)


def test_sample_apiserver_is_built_from_the_module_version_its_tag_names():
    assert images.sample_apiserver_module_version("1.17") == "v0.17.0"
    assert images.sample_apiserver_module_version("1.29.2") == "v0.29.2"
    with pytest.raises(ValueError, match=r"1\.MINOR"):
        images.sample_apiserver_module_version("v1.29")


def test_substitutes_keep_what_the_tests_use_ports_paths_commands_and_users(tmp_path):
    ctx = context(tmp_path)
    busybox = images.busybox(ctx, "docker.io/library/busybox:1.29")
    assert "FROM scratch" in busybox.dockerfile and '"--install", "/bin"' in busybox.dockerfile
    # sh is busybox's ash (tests compare its messages), built so that sh -c env passes on variables whose names
    # are no shell identifiers (1.34's envFrom tests)
    assert "bash" not in busybox.dockerfile
    stage = busybox.dockerfile.split("FROM scratch")[0]
    assert f"LABEL {images.BUILD_STAGE_LABEL}=busybox" in stage, "its builder stage goes once the images are built"
    built = busybox.files["busybox-build.sh"].read_text()
    assert "CONFIG_FEATURE_DI_ENV_HACK=y" in built and "debian/config/pkg/static" in built
    httpd = images.httpd(ctx, "docker.io/library/httpd:2.4.38-alpine")
    assert 'CMD ["httpd-foreground"]' in httpd.dockerfile and "EXPOSE 80" in httpd.dockerfile
    conf = httpd.files["httpd.conf"].read_text()
    assert "Listen 80" in conf and 'DocumentRoot "/usr/local/apache2/htdocs"' in conf
    nginx = images.nginx(ctx, "docker.io/library/nginx:1.14-alpine")
    assert "listen 80;" in nginx.files["nginx.conf"].read_text() and "daemon off;" in nginx.dockerfile
    dnsutils = images.jessie_dnsutils(ctx, "gcr.io/kubernetes-e2e-test-images/jessie-dnsutils:1.0")
    assert "bind9-dnsutils" in dnsutils.dockerfile
    assert "--from=registry.k8s.io/coredns:1.7.0 /coredns /coredns" in dnsutils.dockerfile
    assert "USER 1234" in images.nonroot(ctx, "gcr.io/kubernetes-e2e-test-images/nonroot:1.0").dockerfile


def test_kitten_and_nautilus_are_the_trees_pages_on_this_runs_agnhost(tmp_path):
    html = tmp_path / "src" / "test" / "images" / "kitten" / "html"
    html.mkdir(parents=True)
    recipe = images.agnhost_site("kitten")(context(tmp_path), "gcr.io/kubernetes-e2e-test-images/kitten:1.0")
    assert recipe.dockerfile.startswith("FROM k8s.gcr.io/e2e-test-images/agnhost:2.20\n")
    assert recipe.files == {"kitten.jpg": html / "kitten.jpg", "data.json": html / "data.json"}
    assert 'CMD ["test-webserver"]' in recipe.dockerfile


def test_a_build_is_keyed_by_every_image_it_starts_from_but_its_own_stages():
    dockerfile = "FROM base:1 AS debian\nRUN x\nFROM scratch\nCOPY --from=debian /a /a\nCOPY --from=coredns:1 /c /c\n"
    assert images._named_images(dockerfile) == ["base:1", "coredns:1"]


def test_an_image_the_bundle_lacks_is_named(tmp_path):
    with pytest.raises(images.BuildError, match="no coredns image"):
        images.bundle_image(images.Context(None, "b", (), (), tmp_path, tmp_path), "coredns")


def test_every_image_built_here_says_how_it_differs_from_upstreams_and_the_readme_lists_it():
    from tests.support import ROOT

    readme = (ROOT / "README.md").read_text()
    assert set(images.SUBSTITUTES) == set(images.RECIPES)
    section = readme.split("## Conformance", 1)[-1]
    for name in images.RECIPES:
        assert f"| {name} |" in section, f"the README's Conformance section does not list the {name} image"
