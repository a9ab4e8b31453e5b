"""The images the conformance suite runs, built here under the exact names it asks for.

No image registry is reachable, so ``e2e.test --list-images`` is read and every image the
conformance tests run is built locally: the suite's own helpers (agnhost, nonewprivs,
kitten, nautilus) from ``test/images/`` of the same Kubernetes tree, sample-apiserver from
its module on the proxy, etcd and pause from the release's bundle, and the images whose
upstream base is Alpine or Docker Hub (busybox, nginx, httpd, jessie-dnsutils, nonroot)
from Debian packages, doing what the tests ask of them: the same ports, paths, commands
and users. ``SUBSTITUTIONS`` says how each differs from upstream's (the README lists them).
Images the suite names but no conformance test runs (volume servers, GPU, Windows, the
deliberately unreachable registries) are not built, and the run says which.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bundle import gotool
from bundle import images as docker_images
from bundle.errors import BuildError
from bundle.fixes import REFLECT2_MODULE, REFLECT2_WORKING
from bundle.gomod import add_replaces
from conformance.suite import Suite
from kindling.sources.facts import REFLECT2
from kindling.versions import parse_release

FILES = Path(__file__).resolve().parent / "image-files"
# On the builder stage of a multi-stage recipe: Docker's legacy builder keeps such a stage as an untagged
# image (busybox's: 712 MB), which build_images removes once every image is built.
BUILD_STAGE_LABEL = "io.kindling.conformance-build-stage"
NOT_RUN_BY_CONFORMANCE = "no conformance test runs it"


@dataclass(frozen=True)
class Context:
    suite: Suite
    base: str  # the bundle's Debian base image
    bundle_images: tuple[str, ...]  # every image the release's bundle holds
    listed: tuple[str, ...]  # every image the suite names (e2e.test --list-images)
    work: Path  # helper binaries
    log: Path


def short_name(reference: str) -> str:
    """``k8s.gcr.io/e2e-test-images/agnhost:2.20`` -> ``agnhost``."""
    return reference.rsplit("/", 1)[-1].split(":", 1)[0]


def tag_of(reference: str) -> str:
    return reference.rsplit(":", 1)[1] if ":" in reference.rsplit("/", 1)[-1] else ""


def listed_images(suite: Suite) -> list[str]:
    """Every image the suite may run, as ``e2e.test --list-images`` prints them."""
    listed = subprocess.run([str(suite.e2e_test), "--list-images"], capture_output=True, text=True, check=False)
    if listed.returncode != 0:
        raise BuildError("e2e.test --list-images", (listed.stderr or listed.stdout).strip().splitlines()[-5:])
    return sorted(set(listed.stdout.split()))


def apt_install(*packages: str) -> str:
    return (
        "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
        + " ".join(packages)
        + " && apt-get clean && rm -rf /var/lib/apt/lists/*"
    )


def bundle_image(context: Context, name: str) -> str:
    """The bundle's image of that short name (its CoreDNS, etcd or pause)."""
    found = [reference for reference in context.bundle_images if short_name(reference) == name]
    if not found:
        raise BuildError(f"image {name}", [f"the release's bundle holds no {name} image"])
    return found[0]


def go_binary(context: Context, package: str, name: str) -> Path:
    """A helper program of ``test/images/`` built static in the suite's tree, with the suite's Go."""
    out = context.work / name
    out.parent.mkdir(parents=True, exist_ok=True)
    command = ["nice", "-n", "10", "go", "build", "-o", str(out), package]
    gotool.run_logged(command, context.suite.tree, context.log, f"{name} ({package})", context.suite.go.env(False))
    return out


def sample_apiserver_module_version(tag: str) -> str:
    """The k8s.io/sample-apiserver version an image tag is built from: ``1.17`` -> v0.17.0 (test/images/
    sample-apiserver builds ``v0.<minor>.<patch>`` of the module and tags the image ``1.<minor>[.<patch>]``)."""
    parts = tag.split(".")
    if len(parts) not in (2, 3) or parts[0] != "1" or not all(p.isdigit() for p in parts):
        raise ValueError(f"sample-apiserver tag {tag!r} is not 1.MINOR[.PATCH]")
    return f"v0.{parts[1]}.{parts[2] if len(parts) == 3 else 0}"


def sample_apiserver_binary(context: Context, tag: str) -> Path:
    version = sample_apiserver_module_version(tag)
    what = f"sample-apiserver {tag} (k8s.io/sample-apiserver@{version})"
    module_dir, _ = gotool.download_module("k8s.io/sample-apiserver", version)
    tree = gotool.writable_copy(module_dir, context.work / f"sample-apiserver-{version}")
    go = context.suite.go
    selected = go.selected_version(tree, REFLECT2_MODULE)
    if selected and parse_release(selected) < parse_release(REFLECT2_WORKING):
        (tree / "go.mod").write_text(add_replaces((tree / "go.mod").read_text(), (REFLECT2.replace,)))
    out = context.work / f"sample-apiserver-{tag}"
    command = ["nice", "-n", "10", "go", "build", "-o", str(out), "."]
    gotool.run_logged(command, tree, context.log, what, go.env(False))
    return out


Recipe = Callable[[Context, str], docker_images.ImageRecipe]


def agnhost(context: Context, reference: str) -> docker_images.ImageRecipe:
    """test/images/agnhost: the tree's agnhost on Debian with the tools its Dockerfile adds from Alpine."""
    source = context.suite.tree / "test" / "images" / "agnhost"
    binary = go_binary(context, "./test/images/agnhost", "agnhost")
    upstream = (source / "Dockerfile").read_text()
    lines = [
        f"FROM {context.base}",
        # Alpine's bind-tools curl netcat-openbsd iproute2 iperf bash, and the busybox wget the tests call.
        apt_install("bind9-dnsutils", "curl", "netcat-openbsd", "iproute2", "iperf", "bash", "wget", "ca-certificates"),
        "RUN ln -s /usr/bin/iperf /usr/local/bin/iperf",
        f"COPY --from={bundle_image(context, 'coredns')} /coredns /coredns",
        "RUN mkdir /uploads",
        "COPY localhost.crt localhost.crt",
        "COPY localhost.key localhost.key",
        "COPY agnhost agnhost",
        "RUN ln -s agnhost agnhost-2",
    ]
    if "user-defined-in-image" in upstream:
        lines.append(
            "RUN useradd -u 1000 -M -s /bin/sh user-defined-in-image && groupadd -g 50000 group-defined-in-image"
            " && usermod -a -G group-defined-in-image user-defined-in-image"
        )
    exposed = re.search(r"^EXPOSE (.+)$", upstream, re.MULTILINE)
    lines += [f"EXPOSE {exposed.group(1) if exposed else '80 8080 8081 9376'}", "WORKDIR /"]
    lines += ['ENTRYPOINT ["/agnhost"]', 'CMD ["pause"]']
    files = {
        "agnhost": binary,
        "localhost.crt": source / "porter" / "localhost.crt",
        "localhost.key": source / "porter" / "localhost.key",
    }
    return docker_images.ImageRecipe(reference, "\n".join(lines) + "\n", files, "test/images/agnhost")


def agnhost_site(name: str) -> Recipe:
    """kitten and nautilus: agnhost's test-webserver serving the picture and data.json of test/images/<name>."""

    def recipe(context: Context, reference: str) -> docker_images.ImageRecipe:
        html = context.suite.tree / "test" / "images" / name / "html"
        agnhost_reference = next(r for r in context.listed if short_name(r) == "agnhost" and wanted(r))
        dockerfile = (
            f'FROM {agnhost_reference}\nCOPY {name}.jpg {name}.jpg\nCOPY data.json data.json\nCMD ["test-webserver"]\n'
        )
        files = {f"{name}.jpg": html / f"{name}.jpg", "data.json": html / "data.json"}
        return docker_images.ImageRecipe(reference, dockerfile, files, f"test/images/{name}")

    return recipe


def busybox(context: Context, reference: str) -> docker_images.ImageRecipe:
    """busybox as upstream's image holds it: the one binary, every applet linked in /bin, nothing else. The
    binary is Debian's busybox built here from bookworm's source with its static configuration and
    FEATURE_DI_ENV_HACK (image-files/busybox-build.sh): sh must be busybox's ash, whose error messages tests
    compare ("/bin/sh: can't create /file: Read-only file system"), and it must pass on environment variables
    whose names are no shell identifiers (data-1), which 1.34's tests read with ``sh -c env`` (KEP 4369) and
    Debian's busybox-static drops."""
    dockerfile = "\n".join(
        [
            f"FROM {context.base} AS build",
            f"LABEL {BUILD_STAGE_LABEL}=busybox",
            "COPY busybox-build.sh /usr/local/bin/",
            "RUN busybox-build.sh && rm -rf /var/lib/apt/lists/*",
            "FROM scratch",
            "COPY --from=build /out/busybox /bin/busybox",
            'RUN ["/bin/busybox", "--install", "/bin"]',
            'RUN ["/bin/mkdir", "-p", "-m", "1777", "/tmp"]',
            'RUN ["/bin/mkdir", "-p", "/root", "/home", "/var/www", "/usr/bin", "/usr/sbin", "/sbin"]',
            "COPY passwd /etc/passwd",
            "COPY group /etc/group",
            'CMD ["sh"]',
        ]
    )
    files = {
        "busybox-build.sh": FILES / "busybox-build.sh",
        "passwd": FILES / "busybox-passwd",
        "group": FILES / "busybox-group",
    }
    source = "Debian busybox source, static, FEATURE_DI_ENV_HACK"
    return docker_images.ImageRecipe(reference, dockerfile + "\n", files, source)


def nginx(context: Context, reference: str) -> docker_images.ImageRecipe:
    dockerfile = "\n".join(
        [
            f"FROM {context.base}",
            apt_install("nginx"),
            "COPY nginx.conf /etc/nginx/nginx.conf",
            "RUN nginx -t",
            "EXPOSE 80",
            'CMD ["nginx", "-g", "daemon off;"]',
        ]
    )
    return docker_images.ImageRecipe(reference, dockerfile + "\n", {"nginx.conf": FILES / "nginx.conf"}, "Debian nginx")


def httpd(context: Context, reference: str) -> docker_images.ImageRecipe:
    dockerfile = "\n".join(
        [
            f"FROM {context.base}",
            apt_install("apache2"),
            "RUN mkdir -p /usr/local/apache2/htdocs /usr/local/apache2/conf /usr/local/apache2/logs "
            "/usr/local/apache2/bin && ln -s /usr/sbin/apache2 /usr/local/apache2/bin/httpd",
            "COPY httpd.conf /usr/local/apache2/conf/httpd.conf",
            "COPY index.html /usr/local/apache2/htdocs/index.html",
            "COPY httpd-foreground /usr/local/bin/httpd-foreground",
            "RUN /usr/sbin/apache2 -f /usr/local/apache2/conf/httpd.conf -t",
            "WORKDIR /usr/local/apache2",
            "EXPOSE 80",
            "STOPSIGNAL SIGWINCH",
            'CMD ["httpd-foreground"]',
        ]
    )
    files = {name: FILES / name for name in ("httpd.conf", "index.html", "httpd-foreground")}
    return docker_images.ImageRecipe(reference, dockerfile + "\n", files, "Debian apache2")


def jessie_dnsutils(context: Context, reference: str) -> docker_images.ImageRecipe:
    dockerfile = "\n".join(
        [
            f"FROM {context.base}",
            apt_install("bind9-dnsutils"),
            f"COPY --from={bundle_image(context, 'coredns')} /coredns /coredns",
        ]
    )
    return docker_images.ImageRecipe(reference, dockerfile + "\n", {}, "Debian bind9-dnsutils")


def nonroot(context: Context, reference: str) -> docker_images.ImageRecipe:
    return docker_images.ImageRecipe(reference, f"FROM {context.base}\nUSER 1234\n", {}, "Debian base, user 1234")


def nonewprivs(context: Context, reference: str) -> docker_images.ImageRecipe:
    binary = go_binary(context, "./test/images/nonewprivs", "nnp")
    dockerfile = f'FROM {context.base}\nCOPY nnp /usr/local/bin/nnp\nRUN chmod +s /usr/local/bin/nnp\nCMD ["nnp"]\n'
    return docker_images.ImageRecipe(reference, dockerfile, {"nnp": binary}, "test/images/nonewprivs")


def sample_apiserver(context: Context, reference: str) -> docker_images.ImageRecipe:
    tag = tag_of(reference)
    binary = sample_apiserver_binary(context, tag)
    dockerfile = f'FROM {context.base}\nCOPY sample-apiserver /sample-apiserver\nENTRYPOINT ["/sample-apiserver"]\n'
    source = f"k8s.io/sample-apiserver@{sample_apiserver_module_version(tag)}"
    return docker_images.ImageRecipe(reference, dockerfile, {"sample-apiserver": binary}, source)


# The images conformance tests run, by short name.
RECIPES: dict[str, Recipe] = {
    "agnhost": agnhost,
    "busybox": busybox,
    "httpd": httpd,
    "jessie-dnsutils": jessie_dnsutils,
    "kitten": agnhost_site("kitten"),
    "nautilus": agnhost_site("nautilus"),
    "nginx": nginx,
    "nonewprivs": nonewprivs,
    "nonroot": nonroot,
    "sample-apiserver": sample_apiserver,
}
# Images of the release's bundle the suite names too (maybe under another registry): the same image.
FROM_BUNDLE = ("etcd", "pause")

# How each image built here differs from upstream's (the README's "Conformance" section lists them).
SUBSTITUTES: dict[str, str] = {
    "agnhost": "the release tree's own agnhost (whose VERSION may be newer than the tag the suite asks for) on the "
    "Debian base instead of Alpine, with Debian's bind9-dnsutils, curl, netcat-openbsd, iproute2, iperf and bash "
    "for Alpine's, GNU wget for busybox's, and the bundle's CoreDNS as /coredns instead of CoreDNS 1.6.2",
    "busybox": "Debian's busybox (1.35), built here from bookworm's source package with busybox-static's "
    "configuration and one Debian setting changed, FEATURE_DI_ENV_HACK (as Debian's installer flavour has it: "
    "ash passes on environment variables whose names are no shell identifiers, as Docker Hub's 1.36 and 1.37 "
    "do and 1.34's envFrom tests need), every applet linked into /bin of an otherwise empty image, instead of "
    "Docker Hub's busybox",
    "httpd": "Debian's Apache 2.4 on port 80, serving /usr/local/apache2/htdocs, started by httpd-foreground, "
    "instead of the Alpine httpd image",
    "jessie-dnsutils": "Debian bookworm's bind9-dnsutils (dig, nslookup) instead of Debian jessie's dnsutils, "
    "and the bundle's CoreDNS as /coredns",
    "kitten": "the tree's kitten page and data.json served by this run's agnhost (test-webserver), as the tree's "
    "Dockerfile builds it",
    "nautilus": "the tree's nautilus page and data.json served by this run's agnhost (test-webserver), as the "
    "tree's Dockerfile builds it",
    "nginx": "Debian's nginx (1.22) on port 80, serving /usr/share/nginx/html, instead of Alpine's nginx",
    "nonewprivs": "the tree's nnp, setuid, on the Debian base instead of Alpine",
    "nonroot": "the Debian base with USER 1234 instead of debian-base",
    "sample-apiserver": "k8s.io/sample-apiserver at the version its tag names (1.17: v0.17.0, 1.29.2: v0.29.2), "
    "built with this machine's Go (reflect2 1.0.2 where the module has an older one), on the Debian base instead "
    "of Alpine",
}
# Registries the suite names on purpose to see a pull fail (no credentials, no such host): never built.
PULL_FAILS_ON_PURPOSE = (
    "gcr.io/authenticated-image-pulling/",
    "gcr.io/k8s-authenticated-test/",
    "invalid.com/",
    "invalid.registry.k8s.io/",
)


def wanted(reference: str) -> bool:
    """Whether the conformance run builds this image of the suite's list."""
    if reference.startswith(PULL_FAILS_ON_PURPOSE):
        return False
    return short_name(reference) in RECIPES or short_name(reference) in FROM_BUNDLE


def _named_images(dockerfile: str) -> list[str]:
    """The images a Dockerfile builds from (FROM, COPY --from), but its own stages."""
    stages = set(re.findall(r"^FROM \S+ AS (\S+)$", dockerfile, re.MULTILINE))
    named = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE) + re.findall(r"--from=(\S+)", dockerfile)
    return [name for name in named if name not in stages and name != "scratch"]


def build_images(context: Context, say) -> dict[str, str]:
    """Build every image the conformance tests run; returns {reference: what it is built from}."""
    built: dict[str, str] = {}
    # agnhost first: kitten and nautilus are built on it.
    for reference in sorted(filter(wanted, context.listed), key=lambda r: short_name(r) != "agnhost"):
        name = short_name(reference)
        if name in FROM_BUNDLE:
            source = bundle_image(context, name)
            if tag_of(source) != tag_of(reference):
                raise BuildError(f"image {reference}", [f"the release's bundle has {source}, another version"])
            if source != reference:
                docker_images.docker("tag", source, reference)
            built[reference] = f"the bundle's {source}"
            continue
        recipe = RECIPES[name](context, reference)
        say(f"image {reference} ({recipe.source})")
        inputs = ",".join(docker_images.image_id(image) for image in _named_images(recipe.dockerfile))
        docker_images.build_image(recipe, inputs, context.log)
        built[reference] = recipe.source
    # The builder stages: every tag of an image is built by now (busybox's three from one stage).
    docker_images.docker("image", "prune", "--force", "--filter", f"label={BUILD_STAGE_LABEL}", check=False)
    return built
