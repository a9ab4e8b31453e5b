"""kindling: one exact Kubernetes release, built with kubeadm in systemd node containers.

Reads and validates the stack's configuration, checks what the Docker host
offers (and the snapshot the stack starts from, if any), then hands over to cluster.py. Nothing is registered before the
configuration and the host have been found sound.
"""

from pathlib import Path

from cluster import deploy
from kindling import machines
from kindling.host import check_host, inspect_docker_host, local_image_ids, place_node_network
from kindling.snapshots import with_snapshot
from kindling.spec import load_spec
from pacing import pace_the_sdk

pace_the_sdk()
spec = load_spec()
host = inspect_docker_host(spec.control_plane_name, spec.name)
check_host(spec, host)
if spec.node_runtime == "nspawn":
    machines.check_machine_host(machines.inspect_machine_host())
spec = place_node_network(spec, host)
spec = with_snapshot(spec)
deploy(spec, host, Path(__file__).resolve().parent, local_image_ids(spec.images))
