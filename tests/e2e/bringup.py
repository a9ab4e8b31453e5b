"""Up and destroy of make e2e's throwaway stack: all in the real engine, or the executor then the engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.e2e import images
from tests.e2e.checks import Report
from tests.support import ROOT

PRIVATE_TMPDIR = ROOT / "tools" / "private-tmpdir.sh"


def set_config(work: Path, stack: str, **values: object) -> None:
    """Set kindling config keys in the work tree's stack file, e.g. ``workers=3``."""
    stack_file = work / "stacks" / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(stack_file.read_text())
    document["config"].update({f"kindling:{key}": value for key, value in values.items()})
    stack_file.write_text(yaml.safe_dump(document, sort_keys=False))
    addons = work / "tests" / "e2e" / "addons" / f"Pulumi.{stack}.yaml"
    if addons.exists():
        addons.unlink()  # the executor's add-on stack takes the stack's configuration anew


def pulumi(args: list[str], cwd: Path, env: dict, log: Path) -> bool:
    with log.open("a") as sink:
        sink.write(f"\n$ pulumi {' '.join(args)}\n")
        sink.flush()
        # As make up does: no copy of the cluster's kubeconfig that the provider writes outlives the command.
        command = [str(PRIVATE_TMPDIR), "pulumi", *args]
        result = subprocess.run(command, cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT)
    return result.returncode == 0


class Bringup:
    """Up and destroy of the stack in ``work``: all in the real engine, or executor then engine."""

    def __init__(self, stack: str, work: Path, env: dict, log: Path, kubeconfig: Path, engine: bool):
        self.stack, self.work, self.env, self.log, self.kubeconfig, self.engine = (
            stack,
            work,
            env,
            log,
            kubeconfig,
            engine,
        )
        self.addons = work / "tests" / "e2e" / "addons"
        self.state = work / "executor-state.json"

    def create(self) -> bool:
        flags = ["--stack", self.stack, "--non-interactive"]
        pack = ["--policy-pack", str(self.work / "policies")]
        if self.engine:
            if not (
                pulumi(["stack", "select", "--create", *flags], self.work, self.env, self.log)
                and pulumi(["up", "--yes", "--skip-preview", *pack, *flags], self.work, self.env, self.log)
            ):
                return False
            shown = subprocess.run(
                ["pulumi", "stack", "output", "kubeconfig", "--show-secrets", *flags[:2]],
                cwd=self.work,
                env=self.env,
                capture_output=True,
                text=True,
            )
            fd = os.open(self.kubeconfig, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(shown.stdout)
            return shown.returncode == 0
        with self.log.open("a") as sink:
            phase1 = subprocess.run(
                [sys.executable, "-m", "tests.e2e.phase1", self.stack, str(self.state), str(self.kubeconfig)],
                cwd=self.work,
                env=self.env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        if phase1.returncode != 0:
            return False
        stack_file = self.addons / f"Pulumi.{self.stack}.yaml"
        document = yaml.safe_load((self.work / "stacks" / f"Pulumi.{self.stack}.yaml").read_text())
        document["config"]["e2e:stack"] = self.stack
        document["config"]["e2e:kubeconfigFile"] = str(self.kubeconfig)
        stack_file.write_text(yaml.safe_dump(document))
        return pulumi(["stack", "select", "--create", *flags], self.addons, self.env, self.log) and pulumi(
            ["up", "--yes", "--skip-preview", *pack, *flags], self.addons, self.env, self.log
        )

    def _resources(self) -> list[dict]:
        """What exists now, as {type, name, inputs, outputs}."""
        if self.engine:
            exported = subprocess.run(
                ["pulumi", "stack", "export", "--stack", self.stack],
                cwd=self.work,
                env=self.env,
                capture_output=True,
                text=True,
            )
            if exported.returncode != 0:
                return []
            resources = json.loads(exported.stdout)["deployment"].get("resources", [])
            return [
                {
                    "type": r["type"],
                    "name": r["urn"].rsplit("::", 1)[-1],
                    "inputs": r.get("inputs", {}),
                    "outputs": r.get("outputs", {}),
                }
                for r in resources
            ]
        if not self.state.exists():
            return []
        return json.loads(self.state.read_text())

    def recorded_build_cache(self) -> list[str]:
        """The BuildKit records the stack keeps as its images' own (components/build_cache.py)."""
        ids = []
        for resource in self._resources():
            if resource["type"] == "command:local:Command" and resource["name"].endswith("-build-cache"):
                stdout = resource["outputs"].get("stdout", "")
                ids += (stdout.get("plaintext", "") if isinstance(stdout, dict) else stdout).split()
        return ids

    def container_inputs(self) -> dict[str, dict]:
        """What the program registered for each node container, by container name."""
        kind = "docker:index/container:Container"
        return {r["inputs"]["name"]: r["inputs"] for r in self._resources() if r["type"] == kind}

    def versions(self) -> dict:
        """The stack's versions output: what the control-plane node reports it runs, and the charts."""
        if self.engine:
            shown = subprocess.run(
                ["pulumi", "stack", "output", "versions", "--json", "--stack", self.stack],
                cwd=self.work,
                env=self.env,
                capture_output=True,
                text=True,
            )
            return json.loads(shown.stdout) if shown.returncode == 0 else {}
        found = self.work / "versions.json"
        return json.loads(found.read_text()) if found.exists() else {}

    def no_changes(self, report: Report) -> None:
        """Only the real engine can show it: a second up, and a refresh then up, change nothing."""
        flags = ["--stack", self.stack, "--non-interactive", "--policy-pack", str(self.work / "policies")]
        again = pulumi(["preview", "--expect-no-changes", *flags], self.work, self.env, self.log)
        report.check("a second up changes nothing", again, f"see {self.log}")
        refreshed = pulumi(
            ["refresh", "--yes", "--stack", self.stack, "--non-interactive"], self.work, self.env, self.log
        ) and pulumi(["preview", "--expect-no-changes", *flags], self.work, self.env, self.log)
        report.check("refresh, then up, changes nothing", refreshed, f"see {self.log}")

    def load_images(self, report: Report, config: dict, control_planes: int) -> dict[str, float]:
        """kindling:images into the running cluster (tests/e2e/images.py)."""
        preview = ["preview", "--expect-no-changes", "--stack", self.stack, "--non-interactive"]
        return images.check(
            report,
            self.stack,
            config["kindling:components"]["baseImage"],
            lambda loaded: set_config(self.work, self.stack, images=loaded),
            self.create,
            lambda: pulumi([*preview, "--policy-pack", str(self.work / "policies")], self.work, self.env, self.log),
            control_planes,
        )

    def destroy(self) -> bool:
        flags = ["--stack", self.stack, "--non-interactive", "--yes"]
        if self.engine:
            return pulumi(["destroy", *flags], self.work, self.env, self.log) and pulumi(
                ["stack", "rm", "--preserve-config", *flags], self.work, self.env, self.log
            )
        addons_gone = True
        if (self.addons / f"Pulumi.{self.stack}.yaml").exists():
            addons_gone = pulumi(["destroy", *flags], self.addons, self.env, self.log)
        nodes_gone = True
        if self.state.exists():
            with self.log.open("a") as sink:
                nodes_gone = (
                    subprocess.run(
                        [sys.executable, "-m", "tests.e2e.phase1", "--destroy", str(self.state)],
                        cwd=self.work,
                        env=self.env,
                        stdout=sink,
                        stderr=subprocess.STDOUT,
                    ).returncode
                    == 0
                )
        return addons_gone and nodes_gone
