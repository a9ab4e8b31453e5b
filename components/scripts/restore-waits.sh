# shellcheck shell=sh
# Read before restore-identity.sh and restore-control-plane.sh, which wait in the node for what they need
# of its boot and of the control plane they start (components/restored_control_plane.py gives it to both
# as their library, with components/shell.py's in_node).

# Runs "$@" until it succeeds, for at most 180 s, looking every $look_every seconds (a script's own pace:
# 0.2 by default, where each look costs the two cores that start the control plane).
wait_for() {
    deadline=$(($(date +%s) + 180))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || { echo "no answer within 180s from: $*" >&2; exit 1; }
        sleep "${look_every:-0.2}"
    done
}

# Whether systemd says it is in one of the states "$@" (systemctl is-system-running).
systemd_in() {
    systemd_state=$(systemctl is-system-running 2>/dev/null) || true
    for wanted in "$@"; do
        [ "$systemd_state" != "$wanted" ] || return 0
    done
    return 1
}

# Where restore-identity.sh keeps the controller manager's manifest until restore-control-plane.sh finds the
# API server ready, and puts it in place.
# shellcheck disable=SC2034 # read by those two
held_manifest=/etc/kindling/kube-controller-manager.yaml
