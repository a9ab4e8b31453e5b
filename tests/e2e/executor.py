"""An executor for the program's docker and command resources, where their provider plugins cannot be had.

It stands in for the pulumi-docker and pulumi-command plugins, and only for them:
the real ``__main__.py`` runs under Pulumi's mock runtime, and each docker and
command resource it registers is performed for real, as the plugin would perform
it (the Docker CLI for networks, volumes, images and containers; ``/bin/sh -c`` with the
Command's own script, environment and stdin), and answers with real outputs.
Everything it creates is remembered, in order, so ``destroy`` removes it in
reverse, as the engine would. The Kubernetes resources are left to the real
engine and the real kubernetes provider (tests/e2e/addons).

What it cannot prove, and only the real engine does: diffs and replacements,
refresh, previews, policies during ``up``, and the engine's own ordering.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from typing import Any

import pulumi

DOCKER = "docker:index/"
COMMAND = "command:local:Command"
DEFERRED_PREFIXES = ("kubernetes:", "pulumi:providers:kubernetes")

# Container inputs the executor turns into `docker run` flags; any other input stops the run, so
# the program cannot start setting a field that the end-to-end run would silently drop.
CONTAINER_INPUTS = {
    "name",
    "hostname",
    "image",
    "privileged",
    "capabilities",
    "securityOpts",
    "cgroupnsMode",
    "tmpfs",
    "volumes",
    "mounts",
    "labels",
    "networksAdvanced",
    "ports",
    "restart",
    "maxRetryCount",
    "init",
    "tty",
    "stopSignal",
    "destroyGraceSeconds",
    "removeVolumes",
    "mustRun",
}


class ExecutorError(RuntimeError):
    pass


def buildkit_docker() -> str:
    """A docker CLI that builds with BuildKit (the node image's Dockerfile needs RUN --mount): one with the
    buildx plugin, or a CLI before 23.0, which has BuildKit built in (Debian's docker.io 20.10)."""
    for candidate in dict.fromkeys(filter(None, (shutil.which("docker"), "/usr/bin/docker"))):
        if subprocess.run([candidate, "buildx", "version"], capture_output=True).returncode == 0:
            return candidate
        client = subprocess.run(
            [candidate, "version", "--format", "{{.Client.Version}}"], capture_output=True, text=True
        )
        if client.returncode == 0 and int(client.stdout.split(".")[0]) < 23:
            return candidate
    raise ExecutorError("no docker CLI here builds with BuildKit: install the buildx plugin or Docker 20.10's CLI")


def run_flags(inputs: dict) -> list[str]:
    """``docker run`` flags for a docker.Container's inputs, but its name, hostname, network and image."""
    unknown = set(inputs) - CONTAINER_INPUTS
    if unknown:
        raise ExecutorError(f"the executor does not know the container inputs {sorted(unknown)}")
    flags = ["--privileged"] if inputs.get("privileged") else []
    for capability in (inputs.get("capabilities") or {}).get("adds", []):
        flags += ["--cap-add", capability]
    for option in inputs.get("securityOpts", []):
        flags += ["--security-opt", option]
    if inputs.get("cgroupnsMode"):
        flags += ["--cgroupns", inputs["cgroupnsMode"]]
    for path, options in inputs.get("tmpfs", {}).items():
        flags += ["--tmpfs", f"{path}:{options}" if options else path]
    for volume in inputs.get("volumes", []):
        named = volume.get("volumeName")  # a restored node's /var (components/restored_volume.py)
        flags += ["--volume", f"{named}:{volume['containerPath']}" if named else volume["containerPath"]]
    for mount in inputs.get("mounts", []):
        spec = f"type={mount['type']},source={mount['source']},target={mount['target']}"
        flags += ["--mount", spec + (",readonly" if mount.get("readOnly") else "")]
    for label in inputs.get("labels", []):
        flags += ["--label", f"{label['label']}={label['value']}"]
    for port in inputs.get("ports", []):
        # The mock runtime hands numbers over as floats.
        flags += ["--publish", f"{port['ip']}:{int(port['external'])}:{int(port['internal'])}/{port['protocol']}"]
    restart = inputs.get("restart", "no")
    if restart == "on-failure" and inputs.get("maxRetryCount"):
        restart = f"on-failure:{int(inputs['maxRetryCount'])}"
    flags += ["--restart", restart, "--stop-signal", inputs.get("stopSignal", "SIGTERM")]
    if inputs.get("tty"):
        flags.append("--tty")
    if inputs.get("init"):
        flags.append("--init")
    return flags


def run(command: list[str], *, stdin: str | None = None, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(command, input=stdin, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise ExecutorError(f"{' '.join(command[:3])} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    return result.stdout


@dataclass
class Created:
    type: str
    name: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]


@dataclass
class Executor(pulumi.runtime.Mocks):
    created: list[Created] = field(default_factory=list)
    deferred: list[Created] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # --- pulumi.runtime.Mocks ------------------------------------------------------------------------

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        inputs = dict(args.inputs)
        if not args.custom:  # a component: nothing to perform, its children are registered on their own
            return f"{args.name}-component", inputs
        if args.typ.startswith(DEFERRED_PREFIXES):
            with self.lock:
                self.deferred.append(Created(args.typ, args.name, inputs, inputs))
            return f"{args.name}-deferred", inputs
        performers = {
            f"{DOCKER}network:Network": self._network,
            f"{DOCKER}volume:Volume": self._volume,
            f"{DOCKER}remoteImage:RemoteImage": self._image,
            f"{DOCKER}container:Container": self._container,
            COMMAND: self._command,
        }
        if args.typ not in performers:
            raise ExecutorError(f"the executor cannot perform {args.typ} ({args.name})")
        resource_id, outputs = performers[args.typ](inputs)
        with self.lock:
            self.created.append(Created(args.typ, args.name, inputs, outputs))
        return resource_id, {**inputs, **outputs}

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}

    # --- performers ----------------------------------------------------------------------------------

    def _network(self, inputs: dict) -> tuple[str, dict]:
        command = ["docker", "network", "create", "--driver", inputs.get("driver", "bridge")]
        for ipam in inputs.get("ipamConfigs", []):
            command += ["--subnet", ipam["subnet"], "--gateway", ipam["gateway"]]
        for key, value in inputs.get("options", {}).items():
            command += ["--opt", f"{key}={value}"]
        for label in inputs.get("labels", []):
            command += ["--label", f"{label['label']}={label['value']}"]
        network_id = run([*command, inputs["name"]]).strip()
        return network_id, {"name": inputs["name"]}

    def _volume(self, inputs: dict) -> tuple[str, dict]:
        labels = [f"--label={label['label']}={label['value']}" for label in inputs.get("labels", [])]
        run(["docker", "volume", "create", *labels, inputs["name"]])
        return inputs["name"], {"name": inputs["name"]}

    def _image(self, inputs: dict) -> tuple[str, dict]:
        name, build = inputs["name"], inputs.get("build")
        if build:
            dockerfile = os.path.join(build["context"], build["dockerfile"])
            command = [buildkit_docker(), "build", "-t", name, "-f", dockerfile]
            for key, value in build.get("buildArgs", {}).items():
                command += ["--build-arg", f"{key}={value}"]
            if build.get("forceRemove"):
                command.append("--force-rm")
            run([*command, build["context"]], env={**os.environ, "DOCKER_BUILDKIT": "1"})
        elif subprocess.run(["docker", "image", "inspect", name], capture_output=True).returncode != 0:
            run(["docker", "pull", name])
        image_id = run(["docker", "image", "inspect", "--format", "{{.Id}}", name]).strip()
        return image_id, {"imageId": image_id, "repoDigest": image_id}

    def _container(self, inputs: dict) -> tuple[str, dict]:
        (network,) = inputs.get("networksAdvanced", [])
        command = ["docker", "run", "--detach", "--name", inputs["name"], "--hostname", inputs["hostname"]]
        command += [*run_flags(inputs), "--network", network["name"], "--ip", network["ipv4Address"]]
        container_id = run([*command, inputs["image"]]).strip()
        return container_id, {"name": inputs["name"]}

    def _command(self, inputs: dict) -> tuple[str, dict]:
        env = {**os.environ, **inputs.get("environment", {})}
        result = subprocess.run(
            ["/bin/sh", "-c", inputs["create"]], input=inputs.get("stdin"), capture_output=True, text=True, env=env
        )
        if result.returncode != 0:
            raise ExecutorError(f"command failed ({result.returncode}): {result.stderr.strip()[-3000:]}")
        # pulumi-command keeps stdout without its final newline.
        return f"command-{len(self.created)}", {"stdout": result.stdout.removesuffix("\n"), "stderr": result.stderr}

    # --- destroy -------------------------------------------------------------------------------------

    def destroy(self) -> list[str]:
        """Remove what was created, newest first; returns the problems met (an empty list when clean)."""
        problems = []
        for resource in reversed(self.created):
            try:
                self._delete(resource)
            except ExecutorError as problem:
                problems.append(f"{resource.type} {resource.name}: {problem}")
        self.created.clear()
        return problems

    def _delete(self, resource: Created) -> None:
        inputs = resource.inputs
        if resource.type == COMMAND and inputs.get("delete"):
            env = {**os.environ, **inputs.get("environment", {}), "PULUMI_COMMAND_STDOUT": resource.outputs["stdout"]}
            run(["/bin/sh", "-c", inputs["delete"]], env=env)
        elif resource.type.endswith("container:Container"):
            grace = int(inputs.get("destroyGraceSeconds", 0))
            if grace > 0:  # as pulumi-docker: a stop with that grace first, else straight to a forced removal
                run(["docker", "stop", "--time", str(grace), inputs["name"]])
            run(["docker", "rm", "--force", *(["--volumes"] if inputs.get("removeVolumes") else []), inputs["name"]])
        elif resource.type.endswith("remoteImage:RemoteImage") and not inputs.get("keepLocally"):
            # As the provider does: an image removed already (by the build-cache record's delete) is not an error.
            if subprocess.run(["docker", "image", "inspect", inputs["name"]], capture_output=True).returncode == 0:
                run(["docker", "image", "rm", inputs["name"]])
        elif resource.type.endswith("network:Network"):
            run(["docker", "network", "rm", inputs["name"]])
        elif resource.type.endswith("volume:Volume"):
            run(["docker", "volume", "rm", inputs["name"]])

    def save(self, path: str) -> None:
        """What exists, so that a later process (or a crash handler) can still destroy it."""
        with open(path, "w") as handle:
            json.dump([vars(c) for c in self.created], handle)

    @classmethod
    def load(cls, path: str) -> Executor:
        with open(path) as handle:
            return cls(created=[Created(**entry) for entry in json.load(handle)])
