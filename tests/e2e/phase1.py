"""Run the real __main__.py with the executor performing its docker and command resources.

    python -m tests.e2e.phase1 STACK STATE_FILE KUBECONFIG_FILE

Run from the root of a (throwaway) copy of the tree whose stacks/Pulumi.STACK.yaml is the
stack to make. Writes what it created to STATE_FILE (even when it fails, so that
``python -m tests.e2e.phase1 --destroy STATE_FILE`` can remove it) and the cluster's
kubeconfig to KUBECONFIG_FILE (mode 600).
"""

from __future__ import annotations

import json
import os
import sys

from kindling.machines import inspect_machine_host
from tests.e2e.executor import Executor
from tests.pulumi_harness import run_program
from tests.support import STACKS_DIR, stack_config_file


def create(stack: str, state_file: str, kubeconfig_file: str) -> int:
    executor = Executor()
    try:
        # The real host, as `pulumi up` would find it: its Docker engine, and what it offers machines.
        config = stack_config_file(STACKS_DIR / f"Pulumi.{stack}.yaml")
        deployment = run_program(stack, config, None, mocks=executor, machine_host=inspect_machine_host())
    except Exception as failure:  # the program's own error, or a resource the executor could not make
        print(f"phase1: the program failed: {failure}", file=sys.stderr)
        return 1
    finally:
        executor.save(state_file)
    kubeconfig, secret = deployment.output("kubeconfig")
    if not secret:
        print("phase1: the kubeconfig output is not a secret", file=sys.stderr)
        return 1
    descriptor = os.open(kubeconfig_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(kubeconfig)
    versions, _ = deployment.output("versions")
    with open(os.path.join(os.path.dirname(kubeconfig_file), "versions.json"), "w") as handle:
        json.dump(versions, handle)
    for warning in deployment.warnings:
        print(f"phase1: warning: {warning}", file=sys.stderr)
    print(f"phase1: created {len(executor.created)} resources; {len(executor.deferred)} left to the real engine")
    return 0


def destroy(state_file: str) -> int:
    problems = Executor.load(state_file).destroy()
    for problem in problems:
        print(f"phase1: destroy: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    if sys.argv[1] == "--destroy":
        sys.exit(destroy(sys.argv[2]))
    sys.exit(create(*sys.argv[1:4]))
