"""Where on the Docker host the cluster's network goes: kindling/host.py's place_node_network."""

import ipaddress

import pytest

from kindling.config import SpecError
from kindling.host import (
    DockerHost,
    host_problems,
    host_warnings,
    lacking_capabilities,
    local_image_ids,
    place_node_network,
    read_inotify_limits,
)
from kindling.spec import build_spec

NET = ipaddress.IPv4Network


def host(taken=(), own=None):
    return DockerHost(1, "x86_64", True, taken_networks=tuple(taken), cluster_network_subnet=own)


def reference(**config):
    return build_spec({"kubernetesVersion": "1.19.1", **config}, "k8s-1-19-1")


def test_auto_takes_the_release_subnet_when_the_host_has_it_free():
    assert place_node_network(reference(), host()).node_subnet == NET("10.19.1.0/24")


def test_auto_moves_off_a_subnet_a_docker_network_or_a_route_uses():
    taken = [(NET("10.19.0.0/16"), "host route 10.19.0.0/16 dev tun0"), (NET("10.255.0.0/24"), "Docker network x")]
    assert place_node_network(reference(), host(taken)).node_subnet == NET("10.255.1.0/24")


def test_an_existing_cluster_keeps_its_network_whatever_appeared_since():
    # Fixed when the network was created: a VPN route added later must not move (replace) the cluster.
    taken = [(NET("10.19.0.0/16"), "host route 10.19.0.0/16 dev tun0")]
    assert place_node_network(reference(), host(taken, own=NET("10.19.1.0/24"))).node_subnet == NET("10.19.1.0/24")


def test_a_named_subnet_in_use_on_the_host_is_refused_naming_its_user():
    with pytest.raises(SpecError) as refused:
        place_node_network(reference(nodeSubnet="172.18.0.0/24"), host([(NET("172.18.0.0/16"), "Docker network kind")]))
    assert refused.value.problems == [
        "kindling:nodeSubnet: 172.18.0.0/24 overlaps Docker network kind; choose a free subnet or auto"
    ]


# --- an engine that cannot grant --privileged --------------------------------------------------------

# /proc/<dockerd>/status on a sandbox whose bounding set lacks CAP_SYS_RESOURCE (bit 24), kernel's last cap 40.
SANDBOXED_DAEMON = "Name:\tdockerd\nCapInh:\t0000000000000000\nCapBnd:\t000001fffeffffff\nCapAmb:\t0000000000000000\n"


def test_the_capabilities_a_daemon_lacks_are_named_as_docker_names_them():
    assert lacking_capabilities(SANDBOXED_DAEMON, 40) == ("CAP_SYS_RESOURCE",)
    assert lacking_capabilities(SANDBOXED_DAEMON.replace("1fffeffffff", "1ffffffffff"), 40) == ()
    assert lacking_capabilities(SANDBOXED_DAEMON.replace("1fffeffffff", "0ffffffffff"), 40) == (
        "CAP_CHECKPOINT_RESTORE",
    )


def test_privileged_nodes_on_an_engine_that_cannot_grant_them_are_refused_naming_the_key_and_choices():
    lacking = DockerHost(1, "x86_64", True, engine_lacks_capabilities=("CAP_SYS_RESOURCE",))
    (problem,) = host_problems(reference(), lacking)
    assert problem.startswith("kindling:nodeSecurity: this Docker engine cannot start --privileged containers")
    assert "lacks CAP_SYS_RESOURCE" in problem and "(allowed: privileged, capabilities)" in problem
    assert host_problems(reference(nodeSecurity="capabilities"), lacking) == []
    assert host_problems(reference(), host()) == [], "an engine with every capability runs privileged nodes"


def test_low_inotify_limits_are_said_with_the_command_that_raises_them(tmp_path):
    (tmp_path / "fs" / "inotify").mkdir(parents=True)
    (tmp_path / "fs" / "inotify" / "max_user_instances").write_text("128\n")
    (tmp_path / "fs" / "inotify" / "max_user_watches").write_text("1048576\n")
    limits = read_inotify_limits(tmp_path)
    assert dict(limits) == {"fs.inotify.max_user_instances": 128, "fs.inotify.max_user_watches": 1048576}
    warnings = host_warnings(DockerHost(1, "x86_64", True, inotify_limits=limits))
    assert warnings == [
        "the host's fs.inotify.max_user_instances is 128; nodes share it, and a kubelet that finds none left dies "
        "(inotify_init: too many open files): raise it with sysctl -w fs.inotify.max_user_instances=512"
    ]
    assert host_warnings(host()) == [], "a remote engine's host is not read"


def test_each_local_image_is_its_id_on_the_engine_now_and_a_missing_one_is_named(tmp_path, monkeypatch):
    engine = {"app:dev": "sha256:" + "1" * 64, "tool:2": "sha256:" + "2" * 64}
    docker = tmp_path / "docker"
    cases = "".join(f'  "{reference}") echo {image_id} ;;\n' for reference, image_id in engine.items())
    docker.write_text(f'#!/bin/sh\ncase "$5" in\n{cases}  *) echo "Error: No such image: $5" >&2; exit 1 ;;\nesac\n')
    docker.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    assert local_image_ids(["tool:2", "app:dev"]) == {"tool:2": engine["tool:2"], "app:dev": engine["app:dev"]}
    with pytest.raises(SpecError) as refused:
        local_image_ids(["app:dev", "gone:1"])
    assert refused.value.problems == [
        "kindling:images[1]: 'gone:1' is not an image of this Docker engine; build it (docker build -t gone:1 .) "
        "or pull it first: it is loaded from the engine, never pulled"
    ]
