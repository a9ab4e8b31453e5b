"""The source facts of every catalog release: each table serves the version it is keyed by, and the plans
that join them with the catalog (module, version, Go, fixes, substitutions) per release."""

import re
from pathlib import Path

import pytest

from bundle.fixes import with_fixes
from bundle.fragment import stack_fragment
from bundle.gomod import add_replaces, required_version
from bundle.kubernetes import generators_modfile, point_staging_at_modules
from bundle.plan import plan_release
from kindling import catalog, sources

HEX40 = re.compile(r"[0-9a-f]{40}")


@pytest.mark.parametrize("release", catalog.known_releases())
def test_every_catalog_release_plans_every_component_from_a_source_fact(release):
    plan = plan_release(release)
    assert plan.buildable, [m for m in plan.missing if not m.instead]
    components = {step.component for step in plan.steps}
    assert {"kubernetes", "containerd", "runc", "cni-plugins", "helm", "etcd", "coredns", "pause"} <= components
    kubernetes = plan.step("kubernetes").source
    assert (kubernetes.module, kubernetes.version) == ("k8s.io/kubernetes", f"v{release}")
    assert HEX40.fullmatch(kubernetes.commit)
    assert plan.step("pause").version == catalog.traits_for(catalog.parse_release(release)).pause_version
    assert plan.step("runc").version == plan.components.runc and plan.step("helm").version == plan.components.helm


def test_each_table_serves_the_version_it_is_keyed_by():
    for version, source in sources.CONTAINERD.items():
        assert source.version == f"v{version}" and HEX40.fullmatch(source.commit)
        assert source.module.endswith("/v2") == version.startswith("2.")
    for version, source in sources.RUNC.items():
        assert source.version == f"v{version}"
        describe = re.fullmatch(rf"v{re.escape(version)}-0-g([0-9a-f]{{8}})", source.commit)
        assert HEX40.fullmatch(source.commit) if "-rc" in version else describe, (version, source.commit)
    for table in (sources.CNI_PLUGINS, sources.CRICTL):
        assert all(source.version == f"v{version}" for version, source in table.items())
    for version, source in sources.HELM.items():
        assert source.module == f"helm.sh/helm/v{version.split('.')[0]}" and source.version == f"v{version}"
        assert HEX40.fullmatch(source.commit)
    for tag, source in sources.ETCD.items():
        release = tag.removesuffix("-0")
        if release.startswith("3.4."):  # no /v3 in 3.4's module path: a pseudo-version of the tag's commit
            assert source.module == "go.etcd.io/etcd" and source.version.split("-")[-1].startswith(source.commit)
        else:
            assert (source.module, source.version) == ("go.etcd.io/etcd/server/v3", f"v{release}")
    for tag, source in sources.COREDNS.items():
        assert source.version == f"v{tag.removeprefix('v')}"


def test_every_image_kubeadm_names_and_every_pause_tag_has_a_source():
    for release, kubernetes in sources.KUBERNETES.items():
        assert kubernetes.etcd in sources.ETCD, release
        assert kubernetes.coredns in sources.COREDNS, release
    for rule in catalog.PAUSE_VERSION_RULES:
        assert rule.value in sources.PAUSE, f"no Kubernetes tree known to hold pause {rule.value}"


def test_every_fix_says_why_and_changes_one_thing():
    tables = [{v: k.source for v, k in sources.KUBERNETES.items()}, sources.CONTAINERD, sources.RUNC, sources.HELM]
    tables += [sources.ETCD, sources.COREDNS, sources.CNI_PLUGINS, sources.CRICTL]
    for table in tables:
        for source in table.values():
            for fix in source.fixes:
                assert fix.why and bool(fix.replace) != bool(fix.ldflag), (source.module, source.version, fix)
                assert not fix.replace or re.fullmatch(r"\S+ => \S+ v\S+", fix.replace), fix.replace


def test_old_trees_get_the_reflect2_that_works_with_this_go_and_new_ones_do_not_need_it():
    old, new = sources.KUBERNETES["1.18.2"].source, sources.KUBERNETES["1.23.0"].source
    assert sources.facts.REFLECT2 in old.fixes and sources.facts.REFLECT2 not in new.fixes
    assert sources.facts.REFLECT2 in sources.ETCD["3.4.13-0"].fixes
    assert sources.facts.REFLECT2 not in sources.ETCD["3.6.4-0"].fixes


def test_containerd_1_3_is_built_as_1_4_and_the_stack_is_told(tmp_path):
    plan = plan_release("1.18.2")
    assert plan.step("containerd").version == "1.4.0" and plan.components.containerd == "1.4.0"
    gap = next(m for m in plan.substitutions if m.component == "containerd")
    assert gap.version == "1.3.3" and "CRI" in gap.reason and "1.4.0" in gap.instead
    assert plan.crictl == catalog.NOT_INSTALLED, "containerd 1.4 speaks no v1 CRI"
    fragment = stack_fragment(plan, tmp_path, [], "kindling/debian:bookworm-1")
    assert fragment["config"]["kindling:components"]["containerd"] == "1.4.0"
    assert fragment["config"]["kindling:components"]["crictl"] == catalog.NOT_INSTALLED


def test_runc_rc10_has_a_go_mod_of_its_vendor_conf_pins():
    rc10 = sources.RUNC["1.0.0-rc10"]
    assert rc10.requires and any(line.startswith("github.com/opencontainers/runtime-spec ") for line in rc10.requires)


def test_an_etcd_tool_the_proxy_refuses_comes_from_the_nearest_served_patch_and_the_plan_says_so():
    plan = plan_release("1.24.0")
    gap = next(m for m in plan.substitutions if m.component == "etcdctl")
    assert gap.version == "3.5.3" and "etcdctl 3.5.2" in gap.instead
    assert plan.step("etcd").version == "3.5.3-0", "the image's etcd itself stays exact"


def test_helm_4_is_planned_from_its_own_module_for_1_35():
    assert plan_release("1.35.0").step("helm").source.module == "helm.sh/helm/v4"


def test_1_27_0_takes_the_staging_modules_the_proxy_refuses_at_v0_27_0_from_v0_27_1_and_the_rest_exact():
    go_mod = (
        "module k8s.io/kubernetes\n\nreplace (\n"
        + "".join(
            f"\tk8s.io/{name} => ./staging/src/k8s.io/{name}\n"
            for name in ("api", "cluster-bootstrap", "sample-apiserver")
        )
        + ")\n"
    )
    source = sources.KUBERNETES["1.27.0"].source
    prepared = add_replaces(point_staging_at_modules(go_mod, "1.27.0"), source.replaces)
    assert required_version(prepared, "k8s.io/api") == "v0.27.0"
    assert required_version(prepared, "k8s.io/cluster-bootstrap") == "v0.27.1"
    assert required_version(prepared, "k8s.io/sample-apiserver") == "v0.27.1"
    assert prepared.count("k8s.io/cluster-bootstrap =>") == 1, "the staging replace gives way to the fix's"
    named = {(m.component, m.version, m.instead) for m in plan_release("1.27.0").substitutions}
    assert ("k8s.io/cluster-bootstrap", "0.27.0", "k8s.io/cluster-bootstrap 0.27.1") in named
    assert not any(m.component.startswith("k8s.io/") for m in plan_release("1.28.0").substitutions)


def test_coredns_1_9_3_links_its_2022_x_net_with_the_linkname_check_off_and_nothing_else_does():
    assert "-checklinkname=0" in with_fixes(sources.COREDNS["v1.9.3"], "-s -w").split()
    assert "-checklinkname=0" not in with_fixes(sources.COREDNS["v1.8.6"], "-s -w").split()
    assert plan_release("1.25.0").step("coredns").source.fixes == (sources.facts.CHECKLINKNAME,)


def test_1_30_and_1_31_give_x_tools_v0_24_1_to_openapi_gen_alone_and_the_binaries_keep_upstreams(tmp_path):
    (tmp_path / "go.mod").write_text("module k8s.io/kubernetes\n\nrequire golang.org/x/tools v0.18.0\n")
    (tmp_path / "go.sum").write_text("golang.org/x/tools v0.18.0 h1:x=\n")
    for release in ("1.30.0", "1.31.0"):
        source = sources.KUBERNETES[release].source
        assert not any("x/tools" in line for line in source.replaces), "the released binaries' go.mod"
        flag = generators_modfile(tmp_path, source)
        modfile = Path(flag[0].removeprefix("-modfile="))
        assert required_version(modfile.read_text(), "golang.org/x/tools") == "v0.24.1"
        assert modfile.with_suffix(".sum").read_text() == (tmp_path / "go.sum").read_text()
    assert generators_modfile(tmp_path, sources.KUBERNETES["1.29.0"].source) == []
    assert required_version((tmp_path / "go.mod").read_text(), "golang.org/x/tools") == "v0.18.0"
