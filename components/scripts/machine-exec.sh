# shellcheck shell=sh
# Sourced before a host-side script whose nodes are systemd-nspawn machines (kindling:nodeRuntime
# nspawn): the scripts speak `docker exec [-i] NODE COMMAND...`, and here that enters machine NODE.
# KINDLING_MACHINES_DIR holds the machines of the cluster (machine-start.sh).

# The PID 1 of machine $1: systemd registers it where systemd runs the host; elsewhere it is the
# child of the systemd-nspawn process kindling's supervisor started.
machine_leader() {
    if [ -d /run/systemd/system ]; then
        machinectl show --property=Leader --value "$1" 2>/dev/null
    elif nspawn=$(cat "$KINDLING_MACHINES_DIR/$1.nspawn-pid" 2>/dev/null); then
        pgrep -P "$nspawn" | head -n 1
    fi
}

# Run COMMAND... ($2...) in machine $1: every namespace of its PID 1, and an environment like the one
# systemd gives the machine's services.
enter_machine() {
    leader=$(machine_leader "$1")
    if [ -z "$leader" ]; then
        echo "machine $1 is not running" >&2
        return 1
    fi
    shift
    nsenter --target "$leader" --mount --uts --ipc --net --pid -- \
        /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
        container=systemd-nspawn "$@"
}

docker() {
    if [ "$1" != exec ]; then
        echo "docker $1: the nodes of this cluster are systemd-nspawn machines; only docker exec reaches them" >&2
        return 1
    fi
    shift
    if [ "$1" = -i ]; then
        shift
        enter_machine "$@"
    else
        enter_machine "$@" </dev/null
    fi
}
