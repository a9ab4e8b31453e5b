"""The drills' own judgement, without Docker: when the shared engine may be restarted, what counts as a
cluster disturbed by another's destroy, how the load is spread, and which drills a run takes."""

import pytest

from tests.drills import engine_restart, load, run, side_by_side


def test_the_engine_is_free_when_only_the_drills_containers_run():
    running = ["drill-k8s-1-19-1-control-plane", "drill-ha-k8s-1-19-1-lb"]
    assert engine_restart.busy_because(running, "", "", "", "") == ""


def test_anyone_elses_running_container_or_a_conformance_run_keeps_the_engine_from_restarting():
    busy = engine_restart.busy_because(["conf-k8s-1-34-0-worker-1", "drill-x-control-plane"], "", "", "", "")
    assert busy == "containers not the drills' run: conf-k8s-1-34-0-worker-1"
    assert engine_restart.busy_because([], "9022 python -m conformance", "", "", "") == "a conformance run is on"


def test_a_make_e2e_between_two_of_its_clusters_keeps_the_engine_from_restarting():
    # make e2e --snapshot had no container up between r1's destroy and r3's up, and lost r3 to a restart.
    run_ = "4242 .venv/bin/python -m tests.e2e.run k8s-1-19-1 --snapshot"
    assert engine_restart.busy_because([], "", run_, "", "") == f"another kindling run is on: {run_}"


def test_a_bundle_build_only_allows_the_restart_while_it_compiles_go():
    build = "30869 .venv/bin/python -m bundle build 1.24.0"
    assert engine_restart.busy_because([], "", "", build, "31002\n") == ""
    assert engine_restart.busy_because([], "", "", build, "") == "a bundle build is past its Go compiles"
    # No build running: a compiler of someone else's is none of the drill's business.
    assert engine_restart.busy_because([], "", "", "", "31002\n") == ""


def test_a_cluster_is_untouched_only_when_every_object_keeps_its_id_and_state():
    before = {"container drill-side-a-control-plane": "c1 running 10:00 172.18.0.2", "image kindling/a:v1": "sha256:1"}
    assert side_by_side.changed(before, dict(before)) == []
    after = {"container drill-side-a-control-plane": "c1 running 10:05 172.18.0.2", "volume v": "present"}
    assert side_by_side.changed(before, after) == [
        "image kindling/a:v1 gone",
        "volume v appeared",
        "container drill-side-a-control-plane: c1 running 10:00 172.18.0.2 -> c1 running 10:05 172.18.0.2",
    ]


def test_side_by_side_runs_three_releases_and_a_twin_of_the_first_all_named_as_the_drills():
    clusters = side_by_side.names()
    assert [stack for stack, _ in clusters] == ["k8s-1-19-1", "k8s-1-34-0", "k8s-1-22-0", "k8s-1-19-1"]
    assert len({name for _, name in clusters}) == 4
    assert all(name.startswith("drill-") and len(name) <= 40 for _, name in clusters)


def test_the_load_spreads_evenly_over_every_node_the_control_plane_included():
    spec = load.deployment("registry.k8s.io/pause:3.9")
    assert spec["spec"]["replicas"] == 150
    pod = spec["spec"]["template"]["spec"]
    assert pod["containers"][0]["imagePullPolicy"] == "Never"
    assert {"operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    (constraint,) = pod["topologySpreadConstraints"]
    assert (constraint["maxSkew"], constraint["topologyKey"]) == (1, "kubernetes.io/hostname")


def test_the_spread_counts_running_pods_by_node():
    pods = [
        {"spec": {"nodeName": "w1"}, "status": {"phase": "Running"}},
        {"spec": {"nodeName": "w1"}, "status": {"phase": "Pending"}},
        {"spec": {}, "status": {"phase": "Pending"}},
        {"spec": {"nodeName": "cp"}, "status": {"phase": "Running"}},
    ]
    assert load.spread(pods) == {"w1": 1, "cp": 1}


def test_an_unknown_drill_is_refused_before_anything_runs(capsys):
    with pytest.raises(SystemExit):
        run.main(["k8s-1-19-1", "--drills", "kills,fuzz"])
    assert "no drill fuzz" in capsys.readouterr().err


def test_a_drill_cluster_must_carry_the_drill_prefix():
    from tests.drills.clusters import DrillCluster

    with pytest.raises(ValueError, match="drill-"):
        DrillCluster("k8s-1-19-1", "k8s-1-19-1", {})
