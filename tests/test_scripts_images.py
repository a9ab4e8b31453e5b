"""components/scripts/images-into-nodes.sh and image-in-node.sh, against a stand-in Docker engine and
stand-in containerds (one per node) that keep their images in files and log what they are asked."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from components.shell import SCRIPTS
from kindling.local_images import containerd_name
from tests.support import ROOT

ID, TARGET = "sha256:" + "1" * 64, "sha256:" + "a" * 64
NAME = "docker.io/library/app:dev"
# Each import must read the whole archive, as containerd's does.
PADDING = 300_000

DOCKER = r"""#!/bin/sh
W=$WORLD
case $1 in
  image)  # image inspect --format {{.Id}} REF
    awk -v r="$5" '$1 == r { print $2; found = 1 } END { exit !found }' "$W/engine" ;;
  save)  # save -o FILE REF
    echo "save $4" >> "$W/log"
    { awk -v r="$4" '$1 == r { print $3, $4 }' "$W/engine"; head -c PADDING /dev/zero; } > "$3" ;;
  ps)  # ps --no-trunc --filter label=kindling.cluster=STACK --format '{{.ID}} {{.Names}} {{.Label ...}}'
    echo "$*" >> "$W/log"
    cat "$W/ps" ;;
  container)  # container inspect --format {{.State.Running}} CONTAINER
    if [ -d "$W/nodes/$5" ]; then echo true; else echo "Error: No such container: $5" >&2; exit 1; fi ;;
  exec)  # exec -i CONTAINER /bin/sh -c SCRIPT image-in-node.sh MODE NAME ID
    container=$3
    shift 3
    if [ ! -d "$W/nodes/$container" ]; then echo "Error: No such container: $container" >&2; exit 1; fi
    echo "exec $container $5 $6 $7" >> "$W/log"
    NODE="$W/nodes/$container" TMPDIR="$W/nodes/$container/tmp" exec "$@" ;;
esac
""".replace("PADDING", str(PADDING))

CTR = r"""#!/bin/sh
# ctr --namespace k8s.io images SUBCOMMAND ...: records "NAME TARGET LABELS" in $NODE/images
[ "$1 $2 $3" = "--namespace k8s.io images" ] || { echo "unexpected ctr $*" >&2; exit 2; }
shift 3
db=$NODE/images
touch "$db"
case $1 in
  ls)
    echo "REF TYPE DIGEST SIZE PLATFORMS LABELS"
    while read -r name target labels; do
      echo "$name application/vnd.docker.distribution.manifest.v2+json $target 72.9 MiB linux/amd64 $labels"
    done < "$db" ;;
  import)  # import FILE: a regular file, read whole
    [ -f "$2" ] || { echo "ctr: import wants an archive file, not $2" >&2; exit 2; }
    read -r name target < "$2"
    size=$(wc -c < "$2")
    [ "$size" -ge PADDING ] || { echo "ctr: unexpected EOF ($size bytes)" >&2; exit 1; }
    ls "$TMPDIR" >> "$NODE/seen-during-import"
    [ ! -e "$NODE/fail-import" ] || { echo "ctr: failed to unpack" >&2; exit 1; }
    echo "import $(basename "$NODE")" >> "$WORLD/log"
    # containerd updates only an existing image's target: its labels stay.
    labels=$(awk -v n="$name" '$1 == n { print $3 }' "$db")
    { grep -v "^$name " "$db"; echo "$name $target ${labels:--}"; } > "$db.new"; mv "$db.new" "$db" ;;
  label)
    key=${3%%=*}
    awk -v n="$2" -v key="$key" -v kv="$3" '$1 == n {
        out = ""; split($3, pairs, ",")
        for (i in pairs) if (pairs[i] != "-" && index(pairs[i], key "=") != 1) out = out (out ? "," : "") pairs[i]
        $3 = out (out ? "," : "") kv
      } { print }' "$db" > "$db.new"; mv "$db.new" "$db" ;;
  rm)
    shift
    for name in "$@"; do grep -v "^$name " "$db" > "$db.new"; mv "$db.new" "$db"; done ;;
esac
""".replace("PADDING", str(PADDING))


class World:
    """A Docker engine holding local images, and node containers each with a containerd."""

    def __init__(self, root: Path):
        self.root = root
        (root / "bin").mkdir(parents=True)
        (root / "nodes").mkdir()
        for name, body in (("docker", DOCKER), ("ctr", CTR)):
            (root / "bin" / name).write_text(body)
            (root / "bin" / name).chmod(0o755)
        self.engine({"app:dev": (ID, NAME, TARGET)})
        (root / "log").write_text("")

    def engine(self, images: dict[str, tuple[str, str, str]]) -> None:
        """Local images: reference -> (image id, name in containerd, the target its import gives)."""
        (self.root / "engine").write_text("".join(f"{r} {i} {n} {t}\n" for r, (i, n, t) in images.items()))

    def node(self, container: str, *records: str) -> Path:
        (self.root / "nodes" / container / "tmp").mkdir(parents=True, exist_ok=True)
        (self.root / "nodes" / container / "images").write_text("".join(f"{r}\n" for r in records))
        return self.root / "nodes" / container

    def images(self, container: str) -> list[str]:
        return (self.root / "nodes" / container / "images").read_text().splitlines()

    def log(self) -> list[str]:
        return (self.root / "log").read_text().splitlines()

    def run(self, mode: str, nodes: dict[str, str], image: str = "app:dev", image_id: str = ID):
        """images-into-nodes.sh MODE for ``nodes`` (node name -> container id), as the Command runs it."""
        (self.root / "log").write_text("")
        env = {
            "PATH": f"{self.root / 'bin'}:/usr/bin:/bin",
            "WORLD": str(self.root),
            "KINDLING_IMAGE": image,
            "KINDLING_IMAGE_ID": image_id,
            "KINDLING_NODE_CONTAINERS": " ".join(nodes.values()),
            "KINDLING_NODE_SCRIPT": (SCRIPTS / "image-in-node.sh").read_text(),
        }
        script = (SCRIPTS / "images-into-nodes.sh").read_text()
        return subprocess.run(
            ["/bin/sh", "-c", script, "images-into-nodes.sh", mode, *nodes],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )


@pytest.fixture
def world(tmp_path) -> World:
    return World(tmp_path / "world")


NODES = {"cp": "c1", "worker-1": "c2", "worker-2": "c3"}
MARKED = f"{NAME} {TARGET} kindling.loaded={ID}@{TARGET}"


def test_one_docker_save_is_read_by_every_node_at_once_and_marked_in_each(world):
    for container in NODES.values():
        world.node(container)
    loaded = world.run("load", NODES)
    assert loaded.returncode == 0, loaded.stderr
    assert [line for line in world.log() if line.startswith("save")] == ["save app:dev"], "one stream"
    assert sorted(line for line in world.log() if line.startswith("import")) == ["import c1", "import c2", "import c3"]
    for container in NODES.values():
        assert world.images(container) == [MARKED]
    assert loaded.stdout.splitlines() == [f"{node}: loaded app:dev ({ID})" for node in NODES]


def test_nodes_that_hold_the_image_are_only_looked_at(world):
    world.node("c1", MARKED)
    world.node("c2", MARKED)
    world.node("c3")  # a worker added later
    loaded = world.run("load", NODES)
    assert loaded.returncode == 0, loaded.stderr
    assert [line for line in world.log() if not line.startswith("exec")] == ["save app:dev", "import c3"]
    held = [f"{node}: holds app:dev ({ID}) already" for node in ("cp", "worker-1")]
    assert loaded.stdout.splitlines() == [*held, f"worker-2: loaded app:dev ({ID})"]
    again = world.run("load", NODES)
    assert [line for line in world.log() if not line.startswith("exec")] == [], "nothing streamed at all"
    assert again.returncode == 0


def test_a_rebuilt_image_or_a_name_moved_since_is_loaded_again(world):
    rebuilt_id, rebuilt_target = "sha256:" + "2" * 64, "sha256:" + "b" * 64
    world.engine({"app:dev": (rebuilt_id, NAME, rebuilt_target)})
    world.node("c1", MARKED)
    loaded = world.run("load", {"cp": "c1"}, image_id=rebuilt_id)
    assert loaded.returncode == 0, loaded.stderr
    assert world.images("c1") == [f"{NAME} {rebuilt_target} kindling.loaded={rebuilt_id}@{rebuilt_target}"]
    # A pull (or an import by hand) moved the name to another image: the mark no longer matches.
    world.node("c1", f"{NAME} sha256:{'c' * 64} kindling.loaded={rebuilt_id}@{rebuilt_target}")
    assert world.run("load", {"cp": "c1"}, image_id=rebuilt_id).returncode == 0
    assert "import c1" in world.log()


def test_the_engine_must_still_have_the_image_that_was_planned(world):
    world.node("c1")
    refused = world.run("load", {"cp": "c1"}, image_id="sha256:" + "9" * 64)
    assert refused.returncode == 1
    assert f"app:dev is {ID} now, not sha256:{'9' * 64} as planned" in refused.stderr
    assert world.log() == [] and world.images("c1") == []


def test_a_node_whose_import_fails_fails_the_load_and_is_named(world):
    for container in NODES.values():
        world.node(container)
    (world.root / "nodes" / "c2" / "fail-import").touch()
    loaded = world.run("load", NODES)
    assert loaded.returncode == 1
    assert "worker-1: loading app:dev failed: ctr: failed to unpack" in loaded.stderr
    assert world.images("c1") == world.images("c3") == [MARKED], "the others have it"
    assert world.images("c2") == [], "no mark without the image"


def test_each_node_imports_from_a_file_of_its_own_that_goes_whatever_the_import_did(world):
    for container in NODES.values():
        world.node(container)
    (world.root / "nodes" / "c2" / "fail-import").touch()
    world.run("load", NODES)
    for container in NODES.values():
        node = world.root / "nodes" / container
        (seen,) = (node / "seen-during-import").read_text().split()
        assert seen.startswith("kindling-image."), "the archive lies in the node's temporary directory"
        assert list((node / "tmp").iterdir()) == [], f"{container}: nothing left, failed or not"


def test_remove_takes_out_what_kindling_loaded_with_cri_s_name_for_it(world):
    cri_name = f"sha256:{'d' * 64} {TARGET} io.cri-containerd.image=managed"
    mine = f"docker.io/library/other:1 sha256:{'e' * 64} -"
    world.node("c1", MARKED, cri_name, mine)
    world.node("c2", f"{NAME} {TARGET} -")  # the user's own, not loaded by kindling
    removed = world.run("remove", {"cp": "c1", "worker-1": "c2", "worker-2": "c-gone"})
    assert removed.returncode == 0, removed.stderr
    assert world.images("c1") == [mine]
    assert world.images("c2") == [f"{NAME} {TARGET} -"]
    assert "worker-2: not running, nothing to remove" in removed.stdout
    assert f"{NAME} was not loaded by kindling; left in place" in removed.stdout


def test_cri_s_name_stays_while_another_name_uses_the_image(world):
    cri_name = f"sha256:{'d' * 64} {TARGET} io.cri-containerd.image=managed"
    world.node("c1", MARKED, cri_name, f"docker.io/library/app:also {TARGET} -")
    assert world.run("remove", {"cp": "c1"}).returncode == 0
    assert world.images("c1") == [cri_name, f"docker.io/library/app:also {TARGET} -"]


@pytest.mark.parametrize(
    "reference", ["app:dev", "me/app:1", "localhost/app:1", "registry.local:5000/team/app:2", "localhost:5000/app:3"]
)
def test_the_script_names_an_image_as_containerd_does(world, reference):
    world.engine({reference: (ID, containerd_name(reference), TARGET)})
    world.node("c1")
    assert world.run("load", {"cp": "c1"}, image=reference).returncode == 0
    (asked, *_) = [line for line in world.log() if line.startswith("exec")]
    assert asked == f"exec c1 holds {containerd_name(reference)} {ID}"
    assert world.images("c1")[0].split()[0] == containerd_name(reference)


def test_every_node_needs_its_container(world):
    refused = world.run("load", {"cp": "c1", "worker-1": ""})
    assert refused.returncode == 2
    assert "names 1 containers for 2 nodes" in refused.stderr


# --- make load: tools/load-image.sh ---------------------------------------------------------------------


def make_load(world: World, *arguments: str):
    env = {"PATH": f"{world.root / 'bin'}:/usr/bin:/bin", "WORLD": str(world.root)}
    tool = ROOT / "tools" / "load-image.sh"
    return subprocess.run([str(tool), *arguments], env=env, capture_output=True, text=True, timeout=60)


def test_make_load_streams_each_image_into_every_node_of_the_stack_but_its_load_balancer(world):
    world.engine({"app:dev": (ID, NAME, TARGET), "tool:1": ("sha256:" + "2" * 64, "docker.io/library/tool:1", TARGET)})
    (world.root / "ps").write_text("c1 s-control-plane control-plane\nc2 s-worker-1 worker\nc9 s-lb load-balancer\n")
    world.node("c1")
    world.node("c2", MARKED)
    loaded = make_load(world, "s", "app:dev", "tool:1")
    assert loaded.returncode == 0, loaded.stderr
    assert "ps --no-trunc --filter label=kindling.cluster=s" in world.log()[0]
    assert [line for line in world.log() if line.startswith("save")] == ["save app:dev", "save tool:1"]
    assert world.images("c1")[0] == MARKED
    assert loaded.stdout.splitlines()[:2] == [
        f"s-worker-1: holds app:dev ({ID}) already",
        f"s-control-plane: loaded app:dev ({ID})",
    ]
    assert "c9" not in (world.root / "log").read_text(), "the load balancer is no node"


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (("s",), "usage: make load STACK=<stack> IMAGE="),
        (("s", "gone:1"), "gone:1 is not an image of this Docker engine"),
        (("t", "app:dev"), "no node of stack t is running"),
        (("s", "app@sha256:" + "a" * 64), "names a digest"),
    ],
)
def test_make_load_says_what_is_wrong_before_loading_anything(world, arguments, said):
    (world.root / "ps").write_text("c1 s-control-plane control-plane\n" if arguments[0] == "s" else "")
    world.node("c1")
    refused = make_load(world, *arguments)
    assert refused.returncode != 0 and said in refused.stderr
    assert world.images("c1") == []


def test_a_rebuild_leaves_nothing_of_the_image_it_replaces_but_what_another_name_uses(world):
    rebuilt_id, rebuilt_target = "sha256:" + "2" * 64, "sha256:" + "b" * 64
    world.engine({"app:dev": (rebuilt_id, NAME, rebuilt_target)})
    old_cri_name = f"sha256:{'d' * 64} {TARGET} io.cri-containerd.image=managed"
    world.node("c1", MARKED, old_cri_name)
    world.node("c2", MARKED, old_cri_name, f"docker.io/library/app:stable {TARGET} -")
    assert world.run("load", {"cp": "c1", "worker-1": "c2"}, image_id=rebuilt_id).returncode == 0
    assert world.images("c1") == [f"{NAME} {rebuilt_target} kindling.loaded={rebuilt_id}@{rebuilt_target}"]
    assert old_cri_name in world.images("c2"), "app:stable still is the old image"
