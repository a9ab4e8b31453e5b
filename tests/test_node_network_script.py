"""scripts/node-network.sh, with a stand-in docker: a restore's nodes attach once their network exists (not
two seconds later, when pulumi-docker has read it back), and a destroy removes that network after them."""

import time

from tests.test_scripts import run, stand_ins


def docker_making_the_network_after(tmp_path, seconds: float) -> dict[str, str]:
    """A docker whose `network inspect` finds the network only ``seconds`` after the test began."""
    made_at = time.time() + seconds
    return stand_ins(
        tmp_path,
        {
            "docker": f"""echo "$*" >> {tmp_path}/calls
[ "$1 $2" = "network inspect" ] || exit 9
awk -v made={made_at} -v now="$(date +%s.%N)" 'BEGIN {{ exit !(now >= made) }}' || {{
    echo "Error response from daemon: network $3 not found" >&2; exit 1; }}
echo "$3"
"""
        },
    )


def test_the_wait_ends_as_soon_as_the_network_exists(tmp_path):
    env = docker_making_the_network_after(tmp_path, 0.3)
    began = time.monotonic()
    made = run("node-network.sh", env, "made", "snap-r1")
    waited = time.monotonic() - began
    assert made.returncode == 0, made.stderr
    assert 0.25 <= waited < 0.9  # looked at every 0.05 s: not once a second, nor after a fixed delay


def test_a_network_never_made_fails_with_the_networks_name(tmp_path):
    env = {**docker_making_the_network_after(tmp_path, 3600), "NETWORK_WAIT_SECONDS": "1"}
    made = run("node-network.sh", env, "made", "snap-r1")
    assert made.returncode == 1
    assert made.stdout == ""
    assert "snap-r1 was not made within 1s" in made.stderr


def test_a_destroy_removes_the_network(tmp_path):
    env = stand_ins(tmp_path, {"docker": f'echo "$*" >> {tmp_path}/calls'})
    removed = run("node-network.sh", env, "remove", "snap-r1")
    assert removed.returncode == 0, removed.stderr
    assert (tmp_path / "calls").read_text().splitlines() == ["network rm snap-r1"]


def test_a_network_already_gone_is_no_error(tmp_path):
    env = stand_ins(
        tmp_path,
        {"docker": 'echo "Error response from daemon: network $3 not found" >&2; exit 1'},
    )
    removed = run("node-network.sh", env, "remove", "snap-r1")
    assert removed.returncode == 0, removed.stderr


def test_a_network_still_in_use_fails_the_destroy_with_dockers_reason(tmp_path):
    in_use = "Error response from daemon: error while removing network: network snap-r1 has active endpoints"
    env = stand_ins(
        tmp_path,
        {"docker": f'[ "$2" = rm ] && {{ echo "{in_use}" >&2; exit 1; }}; echo "$3"'},
    )
    removed = run("node-network.sh", env, "remove", "snap-r1")
    assert removed.returncode == 1
    assert in_use in removed.stderr
