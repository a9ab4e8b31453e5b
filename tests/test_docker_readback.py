"""Node containers read back from Docker as the program sends them, so a refresh changes nothing.

The fixtures are `docker inspect` of containers made (Docker 20.10, this project's CI engine)
from the program's own node inputs: one running in capabilities mode, one privileged (created
only: this host refuses to start privileged containers). Every field pulumi-docker reads back
must equal what was sent, or the next `up` after a refresh replaces the node and its cluster.
The end-to-end run (tests/e2e) makes the same comparison on live nodes.
"""

import json

import pytest

from tests.docker_readback import drift
from tests.program_fixtures import REFERENCE, control_plane, deployed_with
from tests.support import FIXTURES


def fixture(mode):
    return json.loads((FIXTURES / f"docker-inspect-node-{mode}.json").read_text())


def as_captured(inputs, inspect):
    """The program's inputs, with the name and host port the captured container had."""
    name = inspect["Name"].lstrip("/")
    port = int(inspect["HostConfig"]["PortBindings"]["6443/tcp"][0]["HostPort"])
    return {**inputs, "name": name, "hostname": name, "ports": [{**p, "external": port} for p in inputs["ports"]]}


@pytest.mark.parametrize("mode", ["capabilities", "privileged"])
def test_every_field_the_provider_reads_back_is_sent_as_docker_reports_it(mode):
    inspect = fixture(mode)
    inputs = as_captured(control_plane(deployed_with(REFERENCE, {"nodeSecurity": mode})).inputs, inspect)
    found = drift(inputs, inspect)
    if inspect["State"]["Status"] != "running":
        found.pop("ports", None)  # the provider reads ports only off a running container
    assert found == {}


def test_the_comparison_sees_names_docker_rewrites():
    inspect = fixture("capabilities")
    inputs = as_captured(control_plane(deployed_with(REFERENCE, {"nodeSecurity": "capabilities"})).inputs, inspect)
    unprefixed = {**inputs, "capabilities": {"adds": [c.removeprefix("CAP_") for c in inputs["capabilities"]["adds"]]}}
    assert set(drift(unprefixed, inspect)) == {"capabilities"}
    privileged = fixture("privileged")
    sent = as_captured(control_plane(deployed_with(REFERENCE, {})).inputs, privileged)
    without_label = {**sent, "securityOpts": ["seccomp=unconfined", "apparmor=unconfined"]}
    assert set(drift(without_label, privileged)) - {"ports"} == {"securityOpts"}
