"""scripts/restored-kubelet.sh on a scratch node: before a restored kubelet starts on a cgroup v1 node with the
systemd driver, its QoS slices become units of the node, as the kubelet makes them, each with an empty slice
below it that has a devices setting, so that systemd keeps the QoS slice's devices directory while the
kubelet makes pods' cgroups below it (kubernetes/kubernetes#103542), and that directory allows every device;
the kubelet's unit wants them, so they are there before it at every start of the node, not only at the
restore; on cgroup v2, or with the cgroupfs driver, nothing is written. And the kubelet registers its Node
held with the pod network's taint while that is asked for, and systemd has read it all before the kubelet
starts."""

import configparser
import subprocess
from pathlib import Path

from components.shell import SCRIPTS
from kindling.contract import POD_NETWORK_HOLD_TAINT, RESTORED_KUBELET
from tests.test_scripts import stand_ins

KUBELET_SETTINGS = {
    "MemoryAccounting": "yes",
    "CPUAccounting": "yes",
    "BlockIOAccounting": "yes",
    "TasksAccounting": "yes",
}
QOS_SLICES = ("kubepods.slice", "kubepods-besteffort.slice", "kubepods-burstable.slice")
KEEPERS = ("kubepods-besteffort-kindling.slice", "kubepods-burstable-kindling.slice")


def make_slices(
    tmp_path: Path, *, cgroup_v1=True, driver="systemd", call="make_kubelet_slices", env=None
) -> tuple[subprocess.CompletedProcess, Path]:
    """Runs ``call`` (make_kubelet_slices) on a scratch node; returns its result and the node's
    /etc/systemd/system."""
    cgroup = tmp_path / "cgroup"
    (cgroup / ("devices" if cgroup_v1 else "unified")).mkdir(parents=True, exist_ok=True)
    kubelet = tmp_path / "kubelet"
    kubelet.mkdir(exist_ok=True)
    (kubelet / "config.yaml").write_text(f"kind: KubeletConfiguration\ncgroupDriver: {driver}\n")
    units = tmp_path / "etc" / "systemd" / "system"
    units.mkdir(parents=True, exist_ok=True)
    text = (SCRIPTS / RESTORED_KUBELET).read_text()
    text = (
        text.replace("/sys/fs/cgroup/", f"{cgroup}/")
        .replace("/var/lib/kubelet/", f"{kubelet}/")
        .replace("/etc/systemd/system", str(units))
        .replace("/run/", f"{tmp_path}/run/")
    )
    result = subprocess.run(
        ["/bin/sh", "-c", f"set -eu\n{text}\n{call}\necho done"],
        env=env or {"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    return result, units


def unit(path: Path) -> dict[str, dict[str, str]]:
    """A unit file's sections and settings (one value each: the files written here repeat no key)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # systemd's keys are case-sensitive
    parser.read_string(path.read_text())
    return {section: dict(parser[section]) for section in parser.sections()}


def test_on_cgroup_v1_with_the_systemd_driver_each_qos_slice_is_a_unit_with_an_empty_slice_with_a_devices_rule(
    tmp_path,
):
    result, units = make_slices(tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in units.glob("*.slice")) == sorted((*QOS_SLICES, *KEEPERS))
    # The kubelet's own settings for its slices (runc's systemd driver), each under its parent, and no rule of
    # the devices controller: a QoS slice's devices cgroup allows every device, so privileged containers
    # below it may ask for all of them.
    for name, parent in zip(QOS_SLICES, ("-.slice", "kubepods.slice", "kubepods.slice"), strict=True):
        settings = unit(units / name)
        assert settings["Slice"] == KUBELET_SETTINGS
        assert settings["Unit"]["Wants"] == parent
        assert settings["Unit"]["DefaultDependencies"] == "no"
    # Below each QoS slice, one that has a devices rule: systemd keeps the QoS slice's devices directory.
    for qos in ("besteffort", "burstable"):
        keeper = unit(units / f"kubepods-{qos}-kindling.slice")
        assert keeper["Slice"] == {"DevicePolicy": "strict"}
        assert keeper["Unit"]["Wants"] == f"kubepods-{qos}.slice"
        assert "no processes" in keeper["Unit"]["Description"]


def test_the_kubelet_wants_the_slices_and_starts_after_them_at_every_start_of_the_node(tmp_path):
    # A unit that only the restore started would be gone after `docker restart`, when the kubelet gets all its
    # node's pods at once again: the kubelet's unit itself pulls them in, each time it starts.
    result, units = make_slices(tmp_path)
    assert result.returncode == 0, result.stderr
    drop_in = unit(units / "kubelet.service.d" / "20-kindling-slices.conf")
    assert drop_in == {"Unit": {"Wants": " ".join(KEEPERS), "After": " ".join(KEEPERS)}}


def test_a_restore_run_again_leaves_the_same_units(tmp_path):
    result, units = make_slices(tmp_path)
    assert result.returncode == 0, result.stderr
    first = {p.relative_to(units): p.read_text() for p in units.rglob("*") if p.is_file()}
    result, units = make_slices(tmp_path)
    assert result.returncode == 0, result.stderr
    assert {p.relative_to(units): p.read_text() for p in units.rglob("*") if p.is_file()} == first
    assert len(first) == 6


def test_nothing_is_written_on_cgroup_v2_or_with_the_cgroupfs_driver(tmp_path):
    for case, options in (("v2", {"cgroup_v1": False}), ("cgroupfs", {"driver": "cgroupfs"})):
        result, units = make_slices(tmp_path / case, **options)
        assert result.returncode == 0, result.stderr
        assert list(units.iterdir()) == []


def prepared(tmp_path: Path, hold: str) -> list[list[str]]:
    """Runs prepare_restored_kubelet with the taint ``hold``; returns each systemctl call: its words, and the
    unit files and drop-ins written by then."""
    seen = tmp_path / "seen"
    systemctl = f'echo "$* | $(cd {tmp_path} && find etc run -type f 2>/dev/null | sort | tr "\\n" " ")" >> {seen}'
    result, _ = make_slices(
        tmp_path, call=f"prepare_restored_kubelet '{hold}'", env=stand_ins(tmp_path, {"systemctl": systemctl})
    )
    assert result.returncode == 0, result.stderr
    return [line.split(" | ") for line in seen.read_text().splitlines()]


def test_systemd_reads_the_slices_and_the_held_registration_before_the_kubelet_starts(tmp_path):
    calls = prepared(tmp_path, POD_NETWORK_HOLD_TAINT)
    assert [words for words, _ in calls] == ["daemon-reload"]
    written = calls[0][1].split()
    assert "run/systemd/system/kubelet.service.d/50-kindling-restore.conf" in written
    assert "etc/systemd/system/kubelet.service.d/20-kindling-slices.conf" in written
    assert all(f"etc/systemd/system/{name}" in written for name in (*QOS_SLICES, *KEEPERS))
    # What the registration holds, and that it goes without a hold: tests/test_restore_identity_script.py.
