"""The cluster as a context of your kubeconfig, named after its stack, as kind adds kind-<name>.

    python tools/kubeconfig_context.py merge STACK KUBECONFIG TARGET   (make kubeconfig MERGE=1)
    python tools/kubeconfig_context.py remove STACK TARGET             (make destroy)

``merge`` adds the stack's kubeconfig to TARGET (~/.kube/config) as a cluster, a user and a context
all named STACK, each marked with a ``kindling`` extension, and makes it the current context; an
earlier entry of the stack's is replaced. ``remove`` takes out exactly the entries it marked, so an
entry of the same name that kindling did not write is never touched. TARGET is rewritten whole, with
mode 600 (it holds credentials), or not at all.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

SECTIONS = {"clusters": "cluster", "users": "user", "contexts": "context"}


def _marker(stack: str) -> dict[str, Any]:
    return {"name": "kindling", "extension": {"stack": stack}}


def _ours(entry: dict[str, Any], field: str, stack: str) -> bool:
    return _marker(stack) in ((entry.get(field) or {}).get("extensions") or [])


def _load(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"apiVersion": "v1", "kind": "Config", "preferences": {}, "clusters": [], "users": [], "contexts": []}
    document = yaml.safe_load(path.read_text()) or {}
    if not isinstance(document, dict):
        raise SystemExit(f"{path} is not a kubeconfig; left as it is")
    return document


def _write(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w") as out:
            yaml.safe_dump(document, out, sort_keys=False)
        os.chmod(partial, 0o600)
        os.replace(partial, path)
    except BaseException:
        os.unlink(partial)
        raise


def merged(stack: str, source: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
    """``target`` with the stack's cluster, user and context from ``source`` (a kubeadm admin kubeconfig)."""
    for section, field in SECTIONS.items():
        for entry in target.get(section) or []:
            if entry.get("name") == stack and not _ours(entry, field, stack):
                raise SystemExit(
                    f"the kubeconfig already has a {field} named {stack} that kindling did not write; "
                    "rename or remove it, then make kubeconfig MERGE=1 again"
                )
    (cluster,), (user,) = source["clusters"], source["users"]
    entries = {
        "clusters": {**cluster["cluster"], "extensions": [_marker(stack)]},
        "users": {**user["user"], "extensions": [_marker(stack)]},
        "contexts": {"cluster": stack, "user": stack, "extensions": [_marker(stack)]},
    }
    result = dict(target)
    for section, field in SECTIONS.items():
        kept = [entry for entry in target.get(section) or [] if entry.get("name") != stack]
        result[section] = [*kept, {"name": stack, field: entries[section]}]
    result["current-context"] = stack
    return result


def removed(stack: str, target: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``target`` without the entries kindling marked for ``stack``, and what it left that bears the name."""
    result, left = dict(target), []
    for section, field in SECTIONS.items():
        entries = target.get(section) or []
        result[section] = [e for e in entries if not (e.get("name") == stack and _ours(e, field, stack))]
        left += [f"the {field} {stack}" for entry in result[section] if entry.get("name") == stack]
    if target.get("current-context") == stack and not any(e.get("name") == stack for e in result["contexts"]):
        result["current-context"] = ""
    return result, left


def main(argv: list[str]) -> int:
    if len(argv) == 4 and argv[0] == "merge":
        stack, source, target = argv[1], Path(argv[2]), Path(argv[3])
        _write(target, merged(stack, yaml.safe_load(source.read_text()), _load(target)))
        print(f"added context {stack} to {target}, and made it the current one: kubectl --context {stack} ...")
        return 0
    if len(argv) == 3 and argv[0] == "remove":
        stack, target = argv[1], Path(argv[2])
        if not target.exists():
            return 0
        document = _load(target)
        result, left = removed(stack, document)
        if result != document:
            _write(target, result)
            print(f"removed context {stack} from {target}")
        for what in left:
            print(f"{target}: {what} was not written by kindling; left in place")
        return 0
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
