"""The release builder's planning (no builds): what a bundle holds, where its sources come from,
the mirror it lays out (checked with the node image's own installer) and the stack fragment."""

import json
import subprocess

import pytest
import yaml

from bundle import kubernetes
from bundle.__main__ import describe, table_rows
from bundle.fragment import apply_fragment, stack_fragment
from bundle.gomod import add_replaces, drop_local_replaces, module_file, required_version
from bundle.mirror import checksum_text, write_chart, write_mirror
from bundle.plan import nearest_served, plan_release
from kindling import artifacts, catalog, sources
from kindling.spec import build_spec
from tests.support import ROOT
from tests.test_install_artifacts import ARCH, run_script


def test_the_reference_release_is_planned_with_this_machines_go_and_upstreams_go_recorded():
    plan = plan_release("1.19.1")
    assert plan.buildable
    assert {step.source.go for step in plan.steps if step.source} == {sources.LOCAL_GO}
    upstream = {step.component: step.source.upstream_go for step in plan.steps if step.source}
    assert upstream["kubernetes"] == "1.15" and upstream["containerd"] == "1.13.15" and upstream["helm"] == "1.14.10"
    kubernetes_fixes = plan.step("kubernetes").source.replaces
    assert "github.com/modern-go/reflect2 => github.com/modern-go/reflect2 v1.0.2" in kubernetes_fixes
    assert any(line.startswith("vbom.ml/util => github.com/fvbommel/util ") for line in kubernetes_fixes)
    assert plan.step("pause").pause_tree == "v1.18.2", "pause 3.2's source is in the release that tagged it"
    assert plan.step("etcd").version == "3.4.13-0" and plan.step("coredns").version == "1.7.0"


def test_the_plan_says_which_go_builds_each_component_and_every_fix_with_its_reason():
    lines = describe(plan_release("1.19.1"))
    kubernetes_line = next(line for line in lines if line.strip().startswith("kubernetes 1.19.1"))
    assert "k8s.io/kubernetes@v1.19.1" in kubernetes_line and "this machine's Go (upstream: go1.15)" in kubernetes_line
    fixes = [line.strip() for line in lines if line.strip().startswith("fix: github.com/modern-go/reflect2")]
    assert fixes and all("Go 1.18" in line for line in fixes)


def test_what_no_registry_serves_is_listed_with_what_the_bundle_does_instead():
    plan = plan_release("1.19.1")
    replaced = {m.component: m for m in plan.substitutions}
    assert set(replaced) == {"crictl", "base-image"}
    assert plan.crictl == catalog.NOT_INSTALLED
    assert "v1 CRI" in replaced["crictl"].reason
    assert plan.debian_suite == "bookworm"
    assert "crictl" not in {s.component for s in plan.steps}


@pytest.mark.parametrize(
    "release, wanted, built",
    [("1.24.0", "1.23.0", "1.26.1"), ("1.29.0", "1.27.0", "1.26.1"), ("1.32.2", "1.32.0", "1.30.0")],
)
def test_a_refused_crictl_is_replaced_by_the_nearest_served_line_and_the_plan_says_so(release, wanted, built):
    plan = plan_release(release)
    assert plan.components.crictl == wanted and plan.crictl == built
    gap = next(m for m in plan.substitutions if m.component == "crictl")
    assert gap.version == wanted and f"crictl {built}" in gap.instead


def test_the_nearest_served_line_prefers_the_older_on_a_tie():
    assert nearest_served("1.32.0", ["1.34.0", "1.30.0", "1.26.1"]) == "1.30.0"
    assert nearest_served("1.33.0", ["1.34.0", "1.30.0", "1.26.1"]) == "1.34.0"
    assert nearest_served("1.23.0", ["1.34.0", "1.30.0", "1.26.1"]) == "1.26.1"


def test_newer_releases_build_crictl_and_every_bundle_takes_flannels_cni_plugin_from_plugins_0_9_1():
    plan = plan_release("1.34.0")
    assert plan.step("crictl").source.module == "sigs.k8s.io/cri-tools"
    # One content for the image name the flannel chart asks for, whichever bundle built it last.
    assert plan.step("flannel-cni").version == plan_release("1.19.1").step("flannel-cni").version == "0.9.1"


def test_a_release_without_source_facts_is_not_buildable_and_says_what_is_missing(monkeypatch):
    monkeypatch.delitem(sources.KUBERNETES, "1.27.0")
    monkeypatch.delitem(sources.CONTAINERD, "1.6.19")
    plan = plan_release("1.27.0")
    assert not plan.buildable
    missing = {m.component: m.reason for m in plan.missing if not m.instead}
    assert set(missing) == {"kubernetes", "containerd"}
    assert "kindling/sources" in missing["containerd"]
    with pytest.raises(LookupError, match="not a catalog release"):
        plan_release("1.99.0")


def test_the_readme_table_of_bundles_is_the_planners():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### What each release's bundle holds", 1)[1].split("\n#", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("|")]
    header, _, *rows = [line.strip("|").split("|") for line in table]
    documented = {row[0].strip(): {h.strip(): v.strip() for h, v in zip(header, row, strict=True)} for row in rows}
    for row in table_rows():
        assert row["release"] in documented, f"README's bundle table lacks {row['release']}"
        for column in ("bundle", "replaced or left out", "missing"):
            assert documented[row["release"]][column] == row[column], (row["release"], column)


def test_staging_replaces_point_at_the_published_staging_modules():
    go_mod = (
        "replace (\n\tk8s.io/api => ./staging/src/k8s.io/api\n\tk8s.io/kubectl => ./staging/src/k8s.io/kubectl\n)\n"
    )
    rewritten = kubernetes.point_staging_at_modules(go_mod, "1.19.1")
    assert "\tk8s.io/api => k8s.io/api v0.19.1\n" in rewritten
    assert "\tk8s.io/kubectl => k8s.io/kubectl v0.19.1\n" in rewritten
    with pytest.raises(ValueError):
        kubernetes.point_staging_at_modules("module x\n", "1.19.1")


def test_a_replace_of_the_same_module_is_replaced_not_duplicated():
    go_mod = (
        "module k8s.io/kubernetes\n\nreplace (\n\tvbom.ml/util => vbom.ml/util v0.0.0-1\n\tk8s.io/a => k8s.io/a v1\n)\n"
    )
    edited = add_replaces(go_mod, ("vbom.ml/util => github.com/fvbommel/util v0.0.0-2",))
    assert edited.count("vbom.ml/util") == 1
    assert required_version(edited, "vbom.ml/util") == "v0.0.0-2"
    assert required_version(edited, "k8s.io/a") == "v1"
    sibling = "require go.etcd.io/etcd/api/v3 v3.6.4\nreplace go.etcd.io/etcd/api/v3 => ../api\n"
    assert drop_local_replaces(sibling) == "require go.etcd.io/etcd/api/v3 v3.6.4\n"


def test_containerd_1_4_gets_a_go_mod_of_its_vendor_conf_pins():
    source = sources.CONTAINERD["1.4.0"]
    go_mod = module_file(source.module, source.upstream_go, source.requires, source.replaces)
    assert go_mod.startswith("module github.com/containerd/containerd\n\ngo 1.13\n")
    assert "\tgithub.com/containerd/cri v1.11.1-0.20200810101850-4e6644c8cf7f\n" in go_mod
    assert required_version(go_mod, "github.com/golang/protobuf") == "v1.3.5", "held at vendor.conf's pin"


def test_static_binaries_are_read_from_the_releases_own_build_script():
    golang_sh = "readonly KUBE_STATIC_LIBRARIES=(\n  kube-apiserver\n  kubeadm\n  kubectl\n)\n"
    assert kubernetes.static_binaries(golang_sh) == {"kube-apiserver", "kubeadm", "kubectl"}


def test_openapi_targets_are_the_tagged_packages_of_kubernetes_and_its_staging_modules(tmp_path):
    def package(root, path, text):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)

    k8s, api, sample = tmp_path / "k8s", tmp_path / "api", tmp_path / "sample"
    package(k8s, "pkg/apis/core/doc.go", "// +k8s:openapi-gen=true\npackage core\n")
    package(k8s, "pkg/other/doc.go", "// +k8s:deepcopy-gen=package\npackage other\n")
    package(k8s, "vendor/x/doc.go", "// +k8s:openapi-gen=true\npackage x\n")
    package(api, "core/v1/doc.go", "// +k8s:openapi-gen=true\n// +groupName=\npackage v1\n")
    package(sample, "apis/doc.go", "// +k8s:openapi-gen=true\npackage apis\n")
    trees = {"k8s.io/kubernetes": k8s, "k8s.io/api": api, "k8s.io/sample-apiserver": sample}
    assert kubernetes.openapi_tagged_packages(trees) == ["k8s.io/api/core/v1", "k8s.io/kubernetes/pkg/apis/core"]


def test_version_stamps_are_upstreams():
    flags = kubernetes.version_ldflags("1.19.1", "206bcadf021e76c27513500ca24182692aabd17e", "2020-09-09T11:17:20Z")
    assert "-X k8s.io/component-base/version.gitVersion=v1.19.1" in flags
    assert "-X k8s.io/client-go/pkg/version.gitCommit=206bcadf021e76c27513500ca24182692aabd17e" in flags
    assert "-X k8s.io/component-base/version.gitMinor=19" in flags


def fake_build(tmp_path):
    def binary(name):
        path = tmp_path / "built" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"#!/bin/sh\necho {path.name}\n")
        return path

    return {
        "kubernetes": {n: binary(n) for n in ("kubeadm", "kubelet", "kubectl")},
        "containerd": {f"bin/{n}": binary(n) for n in ("containerd", "ctr", "containerd-shim-runc-v2")},
        "runc": {"runc": binary("runc")},
        "cni-plugins": {n: binary(n) for n in ("bridge", "flannel", "host-local", "loopback", "portmap")},
        "crictl": {"crictl": binary("crictl")},
        "helm": {"helm": binary("helm")},
    }


@pytest.mark.parametrize("release, crictl", [("1.19.1", "none"), ("1.34.0", "1.34.0")])
def test_the_node_image_installer_accepts_the_bundles_mirror(tmp_path, release, crictl):
    spec = build_spec({"kubernetesVersion": release, "components": json.dumps({"crictl": crictl})}, "bundle")
    written = write_mirror(spec, fake_build(tmp_path), tmp_path / "mirror", ARCH)
    assert len(written) == len(artifacts.node_artifacts(spec))
    result = run_script(tmp_path / "mirror", tmp_path / "root", artifacts.manifest(artifacts.node_artifacts(spec)))
    assert result.returncode == 0, result.stderr
    root = tmp_path / "root"
    assert subprocess.run([root / "usr/local/sbin/runc"], capture_output=True, text=True).stdout == "runc\n"
    assert (root / "usr/local/bin/containerd").exists() and (root / "opt/cni/bin/flannel").exists()
    assert (root / "usr/local/bin/helm").exists() and (root / "usr/bin/kubeadm").exists()
    assert (root / "usr/local/bin/crictl").exists() == (crictl != "none")


def test_checksum_files_follow_each_publishers_format():
    digest = "ab" * 32
    assert checksum_text("v1.19.1/bin/linux/amd64/kubeadm.sha256", "kubeadm", digest) == f"{digest}\n"
    assert checksum_text("v1.0.0-rc92/runc.sha256sum", "runc.amd64", digest) == f"{digest}  runc.amd64\n"


def test_the_stack_fragment_points_every_download_at_the_bundle_and_applies_to_a_stack(tmp_path):
    plan = plan_release("1.19.1")
    mirror = tmp_path / "bundle" / "mirror"
    fragment = stack_fragment(plan, mirror, ["registry.k8s.io/pause:3.2"], "kindling/debian:bookworm-20261128")
    stack = tmp_path / "Pulumi.k8s-1-19-1.yaml"
    stack.write_text('# Kubernetes 1.19.1\nconfig:\n  kindling:kubernetesVersion: "1.19.1"\n  kindling:workers: 1\n')
    apply_fragment(stack, fragment)
    assert stack.read_text().startswith("# Kubernetes 1.19.1\n")
    raw = {
        k.split(":", 1)[1]: json.dumps(v) if isinstance(v, (dict, list)) else str(v)
        for k, v in yaml.safe_load(stack.read_text())["config"].items()
    }
    spec = build_spec(raw, "k8s-1-19-1")
    assert spec.workers == 1 and spec.cni == "flannel"
    assert spec.components.crictl == "none" and spec.components.base_image.startswith("kindling/debian:bookworm")
    assert spec.downloads.runc == f"file://{mirror}/runc"
    assert spec.preload_images == ("registry.k8s.io/pause:3.2",)

    other = tmp_path / "Pulumi.k8s-1-34-0.yaml"
    other.write_text('config:\n  kindling:kubernetesVersion: "1.34.0"\n')
    with pytest.raises(ValueError, match=r"the bundle is for 1\.19\.1"):
        apply_fragment(other, fragment)


def test_the_flannel_chart_sits_where_the_program_looks_for_it(tmp_path):
    chart = tmp_path / "flannel.tgz"
    chart.write_bytes(b"chart")
    write_chart(chart, tmp_path / "mirror", "v0.26.7")
    assert (tmp_path / "mirror/flannel/v0.26.7/flannel.tgz").read_bytes() == b"chart"


def test_a_rebuilt_bundle_that_is_unchanged_keeps_its_directory_for_the_stacks_reading_it(tmp_path):
    from bundle.build import publish

    def built(manifest):
        partial = tmp_path / f"partial-{len(list(tmp_path.iterdir()))}"
        (partial / "mirror").mkdir(parents=True)
        (partial / "mirror" / "runc").write_text(manifest["files"])
        (partial / "stack-config.yaml").write_text("config: {}\n")
        return partial

    out = tmp_path / "1.19.1"
    publish(out, built({"files": "a", "build": {"seconds": 900}}), {"files": "a", "build": {"seconds": 900}})
    reader = (out / "mirror" / "runc").open()  # an image build staging the mirror meanwhile
    publish(out, built({"files": "a"}), {"files": "a", "build": {"seconds": 40}})
    assert json.loads((out / "manifest.json").read_text())["build"] == {"seconds": 40}
    assert (out / "mirror" / "runc").samefile(f"/proc/self/fd/{reader.fileno()}"), "the same file, not a copy"
    publish(out, built({"files": "b"}), {"files": "b", "build": {"seconds": 60}})
    assert (out / "mirror" / "runc").read_text() == "b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1.19.1"], "no partial or retired directory left"


@pytest.mark.parametrize("release", ["1.24.0", "1.27.0", "1.28.0", "1.29.0"])
def test_crictl_1_26_1_takes_kubernetes_libraries_from_tags_the_proxy_serves(release):
    """Its go.mod pins k8s.io/kubernetes/staging pseudo-versions the proxy refuses (1.24.0's bundle stopped on it)."""
    source = plan_release(release).step("crictl").source
    staged = "".join(
        f"\t{line.split(' => ')[0]} => k8s.io/kubernetes/staging/src/{line.split(' => ')[0]} "
        "v0.0.0-20221208195143-b46a3f887ca9\n"
        for line in source.replaces
    )
    fixed = add_replaces(f"module github.com/kubernetes-sigs/cri-tools\n\nreplace (\n{staged})\n", source.replaces)
    assert "staging" not in fixed
    assert {"k8s.io/kubectl => k8s.io/kubectl v0.26.0", "k8s.io/cri-api => k8s.io/cri-api v0.26.0"} <= set(
        source.replaces
    )
    crictl_fix_lines = [line for line in describe(plan_release(release)) if "k8s.io/kubectl => " in line]
    assert len(crictl_fix_lines) == 1, "one reason, one line in the plan"


@pytest.mark.parametrize("release, cni", [("1.24.0", "1.1.1"), ("1.27.0", "1.2.0"), ("1.28.0", "1.3.0")])
def test_cni_plugins_whose_build_list_selects_reflect2_1_0_1_get_the_fix(release, cni):
    step = plan_release(release).step("cni-plugins")
    assert step.version == cni
    assert "github.com/modern-go/reflect2 => github.com/modern-go/reflect2 v1.0.2" in step.source.replaces
