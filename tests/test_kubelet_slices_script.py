"""scripts/kubelet-slices.sh, with stand-ins for busctl (which logs each call's words) and systemctl: before a
restored kubelet starts on a cgroup v1 node with the systemd driver, its QoS slices are made as it makes them,
each with an empty slice below it that has a devices setting, so that systemd keeps the QoS slice's devices
directory while the kubelet makes pods' cgroups below it (kubernetes/kubernetes#103542), and that directory
allows every device; on cgroup v2, or with the cgroupfs driver, nothing is done."""

import json
import subprocess

from components.shell import SCRIPTS
from kindling.contract import KUBELET_SLICES
from tests.test_scripts import stand_ins

KUBELET_SETTINGS = {
    "MemoryAccounting": True,
    "CPUAccounting": True,
    "BlockIOAccounting": True,
    "TasksAccounting": True,
    "DefaultDependencies": False,
}


def make_slices(tmp_path, *, cgroup_v1=True, driver="systemd", existing=False, active=True):
    """Runs make_kubelet_slices on a scratch node (``existing``: its slices are there, ``active`` as systemd
    says); returns the script's result and busctl's calls, each as its list of words."""
    cgroup = tmp_path / "cgroup"
    (cgroup / ("devices" if cgroup_v1 else "unified")).mkdir(parents=True)
    kubelet = tmp_path / "kubelet"
    kubelet.mkdir()
    (kubelet / "config.yaml").write_text(f"kind: KubeletConfiguration\ncgroupDriver: {driver}\n")
    log = tmp_path / "busctl.jsonl"
    refuse = "StartTransientUnit" if existing else "nothing"
    busctl = f"""python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@" >> {log}
for word in "$@"; do [ "$word" != {refuse} ] || {{ echo "Unit already exists." >&2; exit 1; }}; done"""
    env = stand_ins(
        tmp_path, {"busctl": busctl, "systemctl": f'[ "$1 $2" = "is-active --quiet" ] && exit {int(not active)}'}
    )
    text = (SCRIPTS / KUBELET_SLICES).read_text()
    text = text.replace("/sys/fs/cgroup/", f"{cgroup}/").replace("/var/lib/kubelet/", f"{kubelet}/")
    result = subprocess.run(
        ["/bin/sh", "-c", f"set -eu\n{text}\nmake_kubelet_slices\necho done"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return result, [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def properties(words: list[str]) -> tuple[dict, list[str]]:
    """Decodes busctl's a(sv) words (a count, then name, signature, value...) for the signatures used;
    returns the properties and the words after them, so that a wrong count shows."""
    count, rest = int(words[0]), words[1:]
    decoded = {}
    for _ in range(count):
        name, signature, rest = rest[0], rest[1], rest[2:]
        if signature == "s":
            decoded[name], rest = rest[0], rest[1:]
        elif signature == "b":
            assert rest[0] in ("true", "false"), name
            decoded[name], rest = rest[0] == "true", rest[1:]
        elif signature == "as":
            n = int(rest[0])
            decoded[name], rest = rest[1 : 1 + n], rest[1 + n :]
        else:
            raise AssertionError(f"unexpected signature {signature} for {name}")
    return decoded, rest


MANAGER = ["--", "call", "org.freedesktop.systemd1", "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager"]


def started(call: list[str]) -> tuple[str, dict]:
    assert call[:6] == [*MANAGER, "StartTransientUnit"]
    assert call[6] == "ssa(sv)a(sa(sv))" and call[8] == "replace"
    settings, rest = properties(call[9:])
    assert rest == ["0"], "no auxiliary units, and nothing after the properties"
    return call[7], settings


def test_on_cgroup_v1_with_the_systemd_driver_each_qos_slice_is_made_with_an_empty_slice_with_a_devices_rule(tmp_path):
    result, calls = make_slices(tmp_path)
    assert result.returncode == 0, result.stderr
    units = dict(started(call) for call in calls)
    assert list(units) == [
        "kubepods.slice",
        "kubepods-besteffort.slice",
        "kubepods-besteffort-kindling.slice",
        "kubepods-burstable.slice",
        "kubepods-burstable-kindling.slice",
    ]
    # The kubelet's own settings for its slices (runc's systemd driver), each under its parent, and no rule of
    # the devices controller: a QoS slice's devices cgroup allows every device, so privileged containers
    # below it may ask for all of them.
    for name, parent in (
        ("kubepods.slice", "-.slice"),
        ("kubepods-besteffort.slice", "kubepods.slice"),
        ("kubepods-burstable.slice", "kubepods.slice"),
    ):
        assert {key: units[name][key] for key in KUBELET_SETTINGS} == KUBELET_SETTINGS
        assert units[name]["Wants"] == [parent]
        assert "DevicePolicy" not in units[name] and "DeviceAllow" not in units[name]
    # Below each QoS slice, one that has a devices rule: systemd keeps the QoS slice's devices directory.
    for qos in ("besteffort", "burstable"):
        keeper = units[f"kubepods-{qos}-kindling.slice"]
        assert keeper["Wants"] == [f"kubepods-{qos}.slice"]
        assert keeper["DevicePolicy"] == "strict"
        assert "no processes" in keeper["Description"]


def test_slices_there_already_are_kept_and_a_refusal_otherwise_fails_the_restore(tmp_path):
    # A restore run again after its kubelet started: its slices are there and kept.
    result, calls = make_slices(tmp_path / "again", existing=True)
    assert result.returncode == 0, result.stderr
    assert len(calls) == 5 and all(call[5] == "StartTransientUnit" for call in calls)
    # systemd refused a slice that is not there: the restore stops, with systemd's answer.
    result, calls = make_slices(tmp_path / "refused", existing=True, active=False)
    assert result.returncode != 0
    assert "Unit already exists." in result.stderr
    assert len(calls) == 1


def test_nothing_is_made_on_cgroup_v2_or_with_the_cgroupfs_driver(tmp_path):
    for case, options in (("v2", {"cgroup_v1": False}), ("cgroupfs", {"driver": "cgroupfs"})):
        result, calls = make_slices(tmp_path / case, **options)
        assert result.returncode == 0, result.stderr
        assert calls == []
