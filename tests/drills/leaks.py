"""Drill 6: no credential in plaintext anywhere a user or another process can read it.

Where: the Pulumi state files, the update log (verbose too), `docker inspect` of every node, and the
host's process list sampled while `up` runs. What: the kubeconfig's client key (known once `up` is
done), and by shape any private key, bootstrap token or kubeadm certificate key.
"""

from __future__ import annotations

import base64
import gzip
import re
import subprocess
import threading
from pathlib import Path

# A bootstrap token is [a-z0-9]{6}.[a-z0-9]{16}; a certificate key 64 hex digits after its flag or field.
SHAPES = {
    "a private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "a bootstrap token": re.compile(r"(?<![A-Za-z0-9.])[a-z0-9]{6}\.[a-z0-9]{16}(?![A-Za-z0-9])"),
    "a certificate key": re.compile(r"certificate[-_ ]?key[\"':= ]+[0-9a-f]{64}", re.IGNORECASE),
}
# PEM as a kubeconfig holds it: base64 of "-----BEGIN".
BASE64_PEM = re.compile(r"LS0tLS1CRUdJTi[A-Za-z0-9+/=]+")
# Each record `pulumi --logtostderr` writes starts with glog's header ("I1203 10:22:33.123456   4242 rpc.go:77] ");
# a value with newlines in it (a kubeconfig) goes on over the lines after it.
GLOG_HEADER = re.compile(r"^[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+\d+ [\w.-]+:\d+\] ")
_HEADER = r"^[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+\d+ "
# Records Pulumi itself writes at --verbose 9 with secrets in plaintext, which kindling cannot hide: that is
# Pulumi's leak, not kindling's, so the drill counts them apart and fails on a credential in any other record.
PULUMI_TRACES = {
    # The engine (pkg/resource/plugin/rpc.go) traces every property it marshals or unmarshals for a provider
    # call with %v; the Command provider's stdout only becomes secret after it is unmarshalled.
    "the engine's RPC property trace (rpc.go)": re.compile(
        _HEADER + r"rpc\.go:\d+\] (?:Marshaling|Unmarshaling) property for RPC\["
    ),
    # The engine's step generator logs a new resource's inputs with %v (the kubernetes provider's kubeconfig).
    "the engine's step plan (step_generator.go)": re.compile(
        _HEADER + r"step_generator\.go:\d+\] Planner decided to \w+ '[^']*' \(inputs="
    ),
    # The Python SDK's debug lines around register_outputs (pulumi/runtime/resource.py) print the serialized
    # outputs, secrets' values included; the engine logs each twice (eventsink.go).
    "the Python SDK's debug line of registered outputs": re.compile(
        _HEADER + r"eventsink\.go:\d+\] (?:eventSink::Debug\(<\{%reset%\}>)?"
        r"(?:register resource outputs prepared|resource registration successful): urn=[^,\s]*, props="
    ),
}


def masked(text: str, known: dict[str, str]) -> str:
    """``text`` with every secret in it replaced, fit for a report."""
    for value in known.values():
        if value:
            text = text.replace(value, "<secret>")
    for shape in (*SHAPES.values(), BASE64_PEM):
        text = shape.sub("<secret>", text)
    return text


def found_in(text: str, known: dict[str, str]) -> list[str]:
    """What secret, by name, ``text`` holds in plaintext."""
    hits = [name for name, value in known.items() if value and value in text]
    hits += [name for name, shape in SHAPES.items() if shape.search(text)]
    for blob in BASE64_PEM.findall(text):
        try:
            decoded = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=False)
        except ValueError:
            continue
        if b"PRIVATE KEY" in decoded[:64]:
            hits.append("a private key (base64)")
    return hits


class ProcessSampler:
    """The host's process list, sampled every half second while a step runs.

    ``texts`` names each command line by itself, secrets masked, so that a report says which process held one.
    """

    def __init__(self) -> None:
        self.samples: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ProcessSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def texts(self, known: dict[str, str]) -> dict[str, str]:
        return {masked(line, known)[:200]: line for line in sorted(self.samples)}

    def _run(self) -> None:
        while not self._stop.is_set():
            listed = subprocess.run(["ps", "-eo", "args="], capture_output=True, text=True, check=False)
            self.samples.update(listed.stdout.splitlines())
            self._stop.wait(0.5)


def plaintext_files(root: Path) -> dict[str, str]:
    """The readable text of the Pulumi state under ``root`` (a local backend), by path."""
    texts = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in (".json", ".bak", ".gz"):
            raw = path.read_bytes()
            if path.suffix == ".gz":
                raw = gzip.decompress(raw)
            texts[str(path.relative_to(root))] = raw.decode(errors="replace")
    return texts


def inspected(containers: list[str]) -> dict[str, str]:
    return {
        name: subprocess.run(["docker", "inspect", name], capture_output=True, text=True, check=False).stdout
        for name in containers
    }


def pulumi_trace(record: str) -> str:
    """Which of Pulumi's own secret-printing traces ``record`` is (PULUMI_TRACES), or ""."""
    return next((source for source, shape in PULUMI_TRACES.items() if shape.match(record)), "")


def verbose_log_records(text: str) -> tuple[dict[str, str], dict[str, str]]:
    """A `--verbose 9 --logtostderr` log as ``(others, pulumi_traces)``: ``{"line N": record}`` and
    ``{"line N: <which trace>": record}``.

    A record is a line with glog's header and the lines without one that follow it (the rest of a multi-line
    value). Lines before the first header make one record; other output written between records (a plugin's
    stderr) goes with the record before it, which is why the run keeps the update's stdout apart.
    """
    others: dict[str, str] = {}
    traces: dict[str, str] = {}
    start, lines = 0, []
    for number, line in enumerate([*text.splitlines(), None], start=1):
        if line is not None and lines and not GLOG_HEADER.match(line):
            lines.append(line)
            continue
        if lines:
            source = pulumi_trace(lines[0])
            if source:
                traces[f"line {start}: {source}"] = "\n".join(lines)
            else:
                others[f"line {start}"] = "\n".join(lines)
        start, lines = number, [line]
    return others, traces


def scan(sources: dict[str, dict[str, str]], known: dict[str, str]) -> dict[str, list[str]]:
    """``{where: [what secret]}`` over every text of every source (state, log, inspect, processes)."""
    leaks: dict[str, list[str]] = {}
    for source, texts in sources.items():
        for name, text in texts.items():
            hits = found_in(text, known)
            if hits:
                leaks[f"{source} {name}"] = sorted(set(hits))
    return leaks
