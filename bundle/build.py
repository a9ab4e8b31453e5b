"""Build a release bundle: binaries from Go modules, the mirror, images, manifest and stack fragment.

Steps run in the plan's order, each cached by everything that shapes it. The
bundle directory is written beside its final place and renamed into it only
when complete, so a failed build leaves the previous bundle (or none), never
half of one.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from bundle import gocache, images
from bundle.errors import BuildError
from bundle.fragment import stack_fragment
from bundle.gotool import GO_ARCHITECTURES
from bundle.mirror import write_chart, write_mirror
from bundle.plan import Plan, Step
from bundle.recipes import RECIPES
from bundle.workspace import Workspace
from kindling.kubeadm_config import render_init_config
from kindling.spec import build_spec

PREREQUISITES = {
    "gcc": "gcc (apt-get install build-essential)",
    "pkg-config": "pkg-config (apt-get install pkg-config)",
    "docker": "a Docker engine (apt-get install docker.io)",
    "debootstrap": "debootstrap (apt-get install debootstrap)",
}
# cgo builds link these statically (runc with libseccomp) or include their headers (containerd's btrfs).
LIBRARIES = {
    "/usr/include/seccomp.h": "libseccomp-dev",
    "/usr/include/btrfs/ioctl.h": "libbtrfs-dev",
}


@dataclass(frozen=True)
class Progress:
    def __call__(self, message: str) -> None:
        print(f"bundle: {message}", flush=True)


def missing_prerequisites() -> list[str]:
    problems = [f"needs {hint}" for tool, hint in PREREQUISITES.items() if shutil.which(tool) is None]
    problems += [f"needs {package} ({header})" for header, package in LIBRARIES.items() if not Path(header).exists()]
    return problems


def build_step(workspace: Workspace, step: Step, say: Progress) -> dict[str, Path]:
    cached = workspace.finished(step)
    if cached is not None:
        say(f"{step.label}: cached")
        return cached
    partial = workspace.output(step).with_name(workspace.output(step).name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    go = f", go{workspace.go(step.source.go).version}" if step.source else ""
    say(f"{step.label}: building{go} (log: {workspace.log(step)})")
    started = time.monotonic()
    workspace.log(step).unlink(missing_ok=True)
    files = RECIPES[step.component](workspace, step, partial)
    seconds = time.monotonic() - started
    say(f"{step.label}: built in {seconds:.0f}s")
    return workspace.finish(step, partial, files, seconds)


def kubeadm_images(kubeadm: Path, init_config: str, log: Path) -> list[str]:
    """``kubeadm config images list`` for the stack's own rendered configuration."""
    with (log.parent / "kubeadm-images.yaml").open("w") as handle:
        handle.write(init_config)
    listed = subprocess.run(
        [str(kubeadm), "config", "images", "list", "--config", handle.name], capture_output=True, text=True, check=False
    )
    if listed.returncode != 0:
        raise BuildError("kubeadm config images list", listed.stderr.strip().splitlines()[-5:])
    return listed.stdout.split()


def image_recipes(plan: Plan, built: dict[str, dict[str, Path]], kubeadm_list: list[str], base: str) -> list:
    """An image recipe for every image kubeadm listed, and for flannel's two images."""
    recipes = []
    k8s = built["kubernetes"]
    for reference in kubeadm_list:
        name, tag = reference.rsplit("/", 1)[-1].split(":")
        expected = {
            "etcd": plan.step("etcd").version,
            "coredns": plan.step("coredns").version,
            "pause": plan.step("pause").version,
        }.get(name, f"v{plan.release}")
        if tag != expected:
            raise BuildError(f"image {reference}", [f"kubeadm wants {name}:{tag}; the source facts have {expected}"])
        if name == "kube-proxy":
            binaries = {"/usr/local/bin/kube-proxy": k8s["kube-proxy"]}
            packages = ("iptables", "ipset", "conntrack", "kmod", "ebtables")
            recipes.append(images.iptables_image(reference, base, binaries, None, f"k8s.io/kubernetes {tag}", packages))
        elif name.startswith("kube-"):
            recipes.append(
                images.static_image(reference, {f"/usr/local/bin/{name}": k8s[name]}, None, f"k8s.io/kubernetes {tag}")
            )
        elif name == "etcd":
            binaries = {f"/usr/local/bin/{n}": p for n, p in built["etcd"].items()}
            recipes.append(images.static_image(reference, binaries, None, f"etcd {tag}"))
        elif name == "coredns":
            recipes.append(
                images.static_image(reference, {"/coredns": built["coredns"]["coredns"]}, "/coredns", f"coredns {tag}")
            )
        elif name == "pause":
            recipes.append(
                images.static_image(
                    reference, {"/pause": built["pause"]["pause"]}, "/pause", f"pause {tag}", user="65535:65535"
                )
            )
        else:
            raise BuildError(f"image {reference}", ["kubeadm lists an image the bundle does not know how to build"])
    values = yaml.safe_load(built["flannel"]["values.yaml"].read_text())["flannel"]
    flannel_ref = f"{values['image']['repository']}:{values['image']['tag']}"
    flanneld = {"/opt/bin/flanneld": built["flannel"]["flanneld"]}
    packages = ("iptables", "iproute2", "ca-certificates", "nftables")
    recipes.append(images.iptables_image(flannel_ref, base, flanneld, "/opt/bin/flanneld", "flanneld", packages))
    cni_ref = f"{values['image_cni']['repository']}:{values['image_cni']['tag']}"
    plugin = built["flannel-cni"]["flannel"]
    cni_version = plan.step("flannel-cni").version
    recipes.append(
        images.ImageRecipe(
            cni_ref,
            f"FROM {base}\nCOPY flannel /flannel\n",
            {"flannel": plugin},
            f"containernetworking/plugins v{cni_version} flannel",
        )
    )
    return recipes


def build_bundle(plan: Plan, out: Path, workspace: Workspace, say: Progress) -> Path:
    """Build the bundle holding the build caches (no trim removes an entry under a running build), then trim."""
    with gocache.in_use(workspace.build_caches):
        built = _build_bundle(plan, out, workspace, say)
    trim_build_caches(workspace, say)
    return built


def _build_bundle(plan: Plan, out: Path, workspace: Workspace, say: Progress) -> Path:
    if not plan.buildable:
        raise BuildError(
            f"bundle {plan.release}", [f"{m.component} {m.version}: {m.reason}" for m in plan.missing if not m.instead]
        )
    problems = missing_prerequisites()
    if problems:
        raise BuildError("prerequisites", problems)
    started = time.monotonic()
    for gap in plan.substitutions:
        say(f"{gap.component} {gap.version}: {gap.reason}; instead: {gap.instead}")
    cached = {step.component for step in plan.steps if workspace.finished(step) is not None}
    built = {step.component: build_step(workspace, step, say) for step in plan.steps}

    arch = GO_ARCHITECTURES.get(platform.machine(), platform.machine())
    out.parent.mkdir(parents=True, exist_ok=True)
    # A directory of this build's own: another build of the same release may run at the same time.
    partial = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    overrides = {**dict(plan.overrides), "crictl": plan.crictl}
    spec = build_spec(
        {"kubernetesVersion": plan.release, "components": json.dumps(overrides), "cni": "flannel"}, "bundle"
    )
    mirror = partial / "mirror"
    files = write_mirror(spec, built, mirror, arch)
    files[f"flannel/{plan.components.flannel}/flannel.tgz"] = write_chart(
        built["flannel"]["flannel.tgz"], mirror, plan.components.flannel
    )

    log = workspace.cache / "logs" / f"images-{plan.release}.log"
    log.unlink(missing_ok=True)
    say(f"base image: Debian {plan.debian_suite}")
    base = images.base_image(plan.debian_suite, workspace.cache, log, images.debian_mirror())
    listed = kubeadm_images(built["kubernetes"]["kubeadm"], render_init_config(spec), log)
    built_images = {}
    for recipe in image_recipes(plan, built, listed, base):
        say(f"image {recipe.reference}")
        built_images[recipe.reference] = {
            "id": images.build_image(recipe, images.image_id(base), log),
            "source": recipe.source,
        }

    final_mirror = out / "mirror"
    manifest = _manifest(plan, workspace, files, built_images, base)
    manifest["build"] = {
        "seconds": round(time.monotonic() - started),
        "steps": {
            step.component: {"seconds": workspace.build_seconds(step), "cached": step.component in cached}
            for step in plan.steps
        },
    }
    fragment = yaml.safe_dump(stack_fragment(plan, final_mirror, [*built_images], base), sort_keys=False)
    (partial / "stack-config.yaml").write_text(fragment)
    publish(out, partial, manifest)
    say(f"bundle for Kubernetes {plan.release} in {out} ({time.monotonic() - started:.0f}s)")
    return out


def trim_build_caches(workspace: Workspace, say: Progress) -> None:
    for go in workspace.gos():
        trimmed = gocache.trim_unless_in_use(workspace.build_caches, go.build_cache, gocache.limit_bytes())
        if trimmed is None:
            say(f"Go build cache {go.build_cache}: not trimmed while another bundle build uses it")
        elif trimmed[1] < trimmed[0]:
            before, after = (size / 1024**3 for size in trimmed)
            say(f"Go build cache {go.build_cache}: trimmed from {before:.1f} to {after:.1f} GB")


def publish(out: Path, partial: Path, manifest: dict) -> None:
    """Put the bundle built in ``partial`` at ``out``, leaving an identical bundle where it is.

    A stack may be reading the mirror (an image build staging its files) while the same release is
    built again: an unchanged bundle keeps its directory, and only its manifest's build record is
    rewritten, atomically. A changed one replaces the old in two renames.
    """
    existing = out / "manifest.json"
    if existing.is_file() and (out / "stack-config.yaml").is_file():
        before = {k: v for k, v in json.loads(existing.read_text()).items() if k != "build"}
        same_fragment = (out / "stack-config.yaml").read_text() == (partial / "stack-config.yaml").read_text()
        if same_fragment and before == {k: v for k, v in manifest.items() if k != "build"}:
            shutil.rmtree(partial)
            staged = existing.with_name(f".manifest.json.{os.getpid()}")
            staged.write_text(json.dumps(manifest, indent=2) + "\n")
            staged.replace(existing)
            return
    (partial / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    retired = out.with_name(f".{out.name}.{os.getpid()}.old")
    if out.exists():
        out.rename(retired)
    partial.rename(out)
    shutil.rmtree(retired, ignore_errors=True)


def _manifest(plan: Plan, workspace: Workspace, files: dict[str, str], built_images: dict, base: str) -> dict:
    components = []
    for step in plan.steps:
        entry = {"component": step.component, "version": step.version}
        if step.source:
            source = step.source
            entry.update(
                module=source.module,
                moduleVersion=source.version,
                go=workspace.go(source.go).version,
                upstreamGo=source.upstream_go,
                fixes=[{"replace": f.replace, "ldflag": f.ldflag, "why": f.why} for f in source.fixes],
            )
        else:
            entry.update(module="k8s.io/kubernetes", moduleVersion=step.pause_tree, compiler="gcc")
        components.append(entry)
    return {
        "kubernetesVersion": plan.release,
        "components": components,
        "files": [{"path": path, "sha256": digest} for path, digest in sorted(files.items())],
        "images": [{"reference": ref, **facts} for ref, facts in sorted(built_images.items())],
        "baseImage": base,
        "substitutions": [
            {"component": m.component, "version": m.version, "reason": m.reason, "instead": m.instead}
            for m in plan.substitutions
        ],
    }
