"""What bench/floor.sh runs: the kindling stack's own node image, flags, configuration and chart.

Everything is taken from the program itself (the stack's spec, the node image's build arguments,
each node container's inputs as the program registers them), so the floor differs from kindling
only in how the steps are driven.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from cluster import network_release, node_image_args
from components.node_image import BUILD_CONTEXT, staged_files
from components.shell import SCRIPTS
from components.worker_join import CA_CERT_HASH, JOIN_TOKEN
from kindling import catalog
from kindling.host import inspect_docker_host, place_node_network
from kindling.kubeadm_config import render_init_config, render_join_config
from kindling.spec import build_spec
from tests.e2e.executor import buildkit_docker, run_flags
from tests.pulumi_harness import run_program
from tests.support import stack_config_file


def prepare_floor(stack: str, work: Path, out: Path, bundle: Path) -> None:
    out.mkdir(parents=True)
    config = stack_config_file(work / "stacks" / f"Pulumi.{stack}.yaml")
    spec = build_spec(config, stack, work)
    host = inspect_docker_host(spec.control_plane_name, spec.name)
    spec = place_node_network(spec, host)

    image = f"kindling-floor/{stack}:bench"
    args = node_image_args(spec, host.architecture)
    context = out / "context"
    subprocess.run(
        ["/bin/sh", str(SCRIPTS / "stage-context.sh"), str(context), str(BUILD_CONTEXT)],
        env={"PATH": "/usr/bin:/bin", "KINDLING_STAGED_FILES": staged_files(args.local_artifacts)},
        check=True,
    )
    build = [buildkit_docker(), "build", "--quiet", "-t", image, str(context)]
    for key, value in {**args.build_args(), "BASE_IMAGE": args.base_image or ""}.items():
        build += ["--build-arg", f"{key}={value}"]
    subprocess.run(build, check=True, capture_output=True, env={"DOCKER_BUILDKIT": "1", "PATH": "/usr/bin:/bin"})

    containers = run_program(stack, config, docker_host=host).of_type("docker:index/container:Container")
    nodes = []
    for index, name in enumerate(spec.node_names):
        (inputs,) = [c.inputs for c in containers if c.inputs["name"] == name]
        (out / f"run-{name}").write_text("\n".join(run_flags(inputs)) + "\n")
        nodes.append(f"{name} {spec.node_ip(index)} {'control-plane' if index == 0 else 'worker'}")
        if index > 0:
            join = render_join_config(spec, index - 1, JOIN_TOKEN, CA_CERT_HASH)
            (out / f"join-{name}.yaml").write_text(join)
    (out / "init.yaml").write_text(render_init_config(spec))
    images = list(spec.preload_images)
    (out / "images-control-plane").write_text("\n".join(images) + "\n")
    worker_images = [i for i in images if catalog.image_name(i) not in catalog.CONTROL_PLANE_ONLY_IMAGES]
    (out / "images-worker").write_text("\n".join(worker_images) + "\n")

    release = network_release(spec)
    chart = Path(release.chart)
    (out / "flannel.tgz").write_bytes(chart.read_bytes())
    (out / "flannel-values.yaml").write_text(yaml.safe_dump(release.values))
    env = {
        "NETWORK": spec.name,
        "SUBNET": str(spec.node_subnet),
        "GATEWAY": str(spec.gateway_ip),
        "IMAGE": image,
        "NODES": "\n".join(nodes),
    }
    (out / "env").write_text("".join(f"{key}='{value}'\n" for key, value in env.items()))
