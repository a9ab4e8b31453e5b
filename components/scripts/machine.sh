#!/bin/sh
# Host side: systemd-nspawn machine NODE, booted from its root filesystem in its network namespace.
#   machine.sh create NODE ROOTFS NAMESPACE: started, with the options in KINDLING_NSPAWN_OPTIONS (one
#     a line) and the node image's entrypoint as its first process, which ends in `exec /sbin/init`;
#     KINDLING_HOSTS ("ADDRESS NAME" a line) are the other machines it must find by name;
#   machine.sh restart NODE: restarted from outside, as `docker restart` restarts a node container:
#     systemd in it is asked to reboot (SIGINT, what machinectl reboot sends a container), shuts down
#     cleanly, and the machine starts again; returns once the new boot's PID 1 runs (within
#     KINDLING_RESTART_TIMEOUT seconds, 300 by default);
#   machine.sh cgroups NODE: the cgroups of the machine that exist, one a line (none once deleted);
#   machine.sh delete NODE: stopped at once (the node needs no clean shutdown: its disk goes next).
# Where systemd is PID 1 the machine is the unit kindling-NODE (machinectl list shows it). Elsewhere
# kindling supervises it (the supervise action, this script again): it restarts the machine when it
# fails or reboots, as Docker's restart: on-failure does, unless it failed within 10 seconds of its
# start (a machine that cannot boot). Its files, beside the root filesystem in KINDLING_MACHINES_DIR:
# NODE.log, the supervisor's NODE.supervisor-pid and the running systemd-nspawn's NODE.nspawn-pid.
#
# On a cgroup v1 host without systemd the machine gets the cgroup v1 hierarchies (the boot action):
# under the unified hierarchy a v1 host's controllers are all elsewhere, and runc cannot set a pod's
# limits. systemd-nspawn wants every controller the kernel has mounted, which such a host need not do
# (perf_event, here), so the machine boots in a mount namespace of its own where they all are, each
# in a cgroup of the machine's own, NODE under kindling/; delete removes those cgroups too, and so
# does the supervisor between two boots, so that each boot starts from none, as a node container's
# restart does (those a boot leaves behind, one a container, made the kubelet of the next boot spend
# 1.5 s on each before its node was Ready: minutes after a few reboots). That mount namespace follows
# the host's unmounts (slave), so it holds no copy of a mount the host lets go (another machine's
# network namespace, a Docker container's). PROC_CGROUPS exists for tests.
set -eu
action=$1
node=${2:-}
dir=$KINDLING_MACHINES_DIR
unit="kindling-$node"

systemd_host() { [ -d /run/systemd/system ]; }

# The machine's PID 1, empty when it is not running: registered with systemd where systemd runs the
# host, elsewhere the child of the systemd-nspawn the supervisor started.
leader() {
    if systemd_host; then
        machinectl show --property=Leader --value "$node" 2>/dev/null || true
    elif nspawn=$(cat "$dir/$node.nspawn-pid" 2>/dev/null); then
        pgrep -P "$nspawn" | head -n 1 || true
    fi
}
cgroup_v1_host() { [ "$(stat -f -c %T /sys/fs/cgroup)" = tmpfs ]; }

# The kernel's cgroup v1 hierarchies, one a line, controllers mounted together joined by commas.
# (No `joined[h] = (h in joined) ? ...`: awk may create joined[h] before it asks.)
hierarchies() {
    awk 'NR > 1 && $4 == 1 {
        if ($2 == 0) print $1; else if ($2 in joined) joined[$2] = joined[$2] "," $1; else joined[$2] = $1
    } END { for (h in joined) print joined[h] }' "${PROC_CGROUPS:-/proc/cgroups}"
    echo none,name=systemd
}

# Mount every hierarchy under /sys/fs/cgroup (in a private mount namespace); run $1 on each mount point.
with_hierarchies() {
    mount -t tmpfs -o mode=755 kindling-cgroups /sys/fs/cgroup
    hierarchies | while read -r hierarchy; do
        mountpoint="/sys/fs/cgroup/${hierarchy#none,name=}"
        mkdir -p "$mountpoint"
        mount -t cgroup -o "$hierarchy" cgroup "$mountpoint"
        case "$hierarchy" in
            none,*) ;;
            *,*) for controller in $(echo "$hierarchy" | tr , ' '); do ln -s "$hierarchy" "/sys/fs/cgroup/$controller"; done ;;
        esac
        "$1" "$mountpoint"
    done
}

print_own_cgroup() {
    [ ! -d "$1/kindling/$node" ] || echo "${1#/sys/fs/cgroup/}/kindling/$node"
}

join_own_cgroup() {
    own="$1/kindling/$node"
    mkdir -p "$own"
    if [ -e "$1/cpuset.cpus" ]; then  # a cpuset takes no process before it has CPUs and memory nodes
        for cgroup in "$1/kindling" "$own"; do
            cat "$1/cpuset.cpus" >"$cgroup/cpuset.cpus"
            cat "$1/cpuset.mems" >"$cgroup/cpuset.mems"
        done
    fi
    echo "$$" >"$own/cgroup.procs"
}

remove_own_cgroup() {
    # Its processes are gone, but the kernel may take a moment to let their cgroups go.
    tries=0
    while [ -d "$1/kindling/$node" ] && ! find "$1/kindling/$node" -depth -type d -exec rmdir {} + 2>/dev/null; do
        tries=$((tries + 1))
        [ "$tries" -lt 20 ] || { echo "cannot remove the cgroup $1/kindling/$node" >&2; return 1; }
        sleep 0.5
    done
    rmdir "$1/kindling" 2>/dev/null || true
}

stop() {
    if systemd_host; then
        systemctl kill --signal=KILL "$unit" 2>/dev/null || true
        systemctl stop "$unit" 2>/dev/null || true
        systemctl reset-failed "$unit" 2>/dev/null || true
        return
    fi
    supervisor=$(cat "$dir/$node.supervisor-pid" 2>/dev/null || true)
    [ -z "$supervisor" ] || kill "$supervisor" 2>/dev/null || true
    nspawn=$(cat "$dir/$node.nspawn-pid" 2>/dev/null || true)
    if [ -n "$nspawn" ] && kill -0 "$nspawn" 2>/dev/null; then
        # Killing the machine's PID 1 ends its PID namespace, and then systemd-nspawn (killing
        # systemd-nspawn itself would leave the machine running, orphaned).
        leader=$(pgrep -P "$nspawn" | head -n 1 || true)
        [ -z "$leader" ] || kill -KILL "$leader" 2>/dev/null || true
        waited=0
        while kill -0 "$nspawn" 2>/dev/null && [ "$waited" -lt 30 ]; do
            sleep 1
            waited=$((waited + 1))
        done
        kill -KILL "$nspawn" 2>/dev/null || true
    fi
    if cgroup_v1_host; then
        unshare --mount --propagation private /bin/sh -c "$KINDLING_SCRIPT" machine.sh forget-cgroups "$node"
    fi
    rm -f "$dir/$node.supervisor-pid" "$dir/$node.nspawn-pid" "$dir/$node.log"
}

case "$action" in
    create)
        rootfs=$3
        namespace=$4
        trap '[ "$?" -eq 0 ] || stop' EXIT
        # The exported image's /etc/hosts is empty, and there is no Docker DNS: the kubelet and kubeadm
        # look up localhost and the node's own name, and a joining node the control planes'.
        address=$(ip -n "$namespace" -4 -o address show dev eth0 | awk '{ split($4, a, "/"); print a[1] }')
        {
            printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n%s\t%s\n' "$address" "$node"
            printf '%s\n' "${KINDLING_HOSTS:-}" | awk -v node="$node" 'NF == 2 && $2 != node { print $1 "\t" $2 }'
        } >"$rootfs/etc/hosts"
        # A restart gives the machine's services the grace `docker restart` gives a node container's,
        # 10 s, not systemd's 90 s: containerd's shims ignore SIGTERM, and every reboot waited for them.
        mkdir -p "$rootfs/etc/systemd/system.conf.d"
        printf '[Manager]\nDefaultTimeoutStopSec=10s\n' >"$rootfs/etc/systemd/system.conf.d/kindling-machine.conf"
        set -- --quiet --machine="$node" --directory="$rootfs" --network-namespace-path="/run/netns/$namespace"
        while IFS= read -r option; do
            [ -z "$option" ] || set -- "$@" "$option"
        done <<OPTIONS
$KINDLING_NSPAWN_OPTIONS
OPTIONS
        if systemd_host; then
            systemd-run --unit="$unit" --description="kindling node $node" --property=Delegate=yes \
                --property=KillMode=mixed --property=Restart=on-failure --property=RestartForceExitStatus=133 \
                --property=SuccessExitStatus=133 --setenv=SYSTEMD_NSPAWN_API_VFS_WRITABLE=1 \
                systemd-nspawn --keep-unit "$@" /usr/local/bin/kindling-entrypoint
        else
            # Detached from this Command (its own session, no inherited output), so that it outlives it.
            setsid /bin/sh -c "$KINDLING_SCRIPT" machine.sh supervise "$node" "$@" \
                </dev/null >>"$dir/$node.log" 2>&1 &
        fi
        ;;
    supervise)
        shift 2
        echo "$$" >"$dir/$node.supervisor-pid"
        trap 'exit 0' TERM
        export SYSTEMD_NSPAWN_API_VFS_WRITABLE=1
        while :; do
            started=$(date +%s)
            if cgroup_v1_host; then
                unshare --mount --propagation slave /bin/sh -c "$KINDLING_SCRIPT" machine.sh boot "$node" "$@" &
            else
                systemd-nspawn --register=no --keep-unit "$@" /usr/local/bin/kindling-entrypoint &
            fi
            echo "$!" >"$dir/$node.nspawn-pid"
            status=0
            wait "$!" || status=$?
            echo "kindling: systemd-nspawn exited with status $status" >&2
            # 0: powered off; 133: rebooted (how systemd-nspawn reports a reboot).
            [ "$status" -ne 0 ] || exit 0
            [ "$status" -eq 133 ] || [ $(($(date +%s) - started)) -ge 10 ] || exit "$status"
            if cgroup_v1_host; then
                unshare --mount --propagation private /bin/sh -c "$KINDLING_SCRIPT" machine.sh forget-cgroups "$node" ||
                    echo "kindling: cgroups of the last boot are left; booting with them" >&2
            fi
        done
        ;;
    boot)
        shift 2
        with_hierarchies join_own_cgroup
        # systemd in the machine reads these as its kernel command line (a container's is PID 1's): v1
        # only. Left to itself it also tracks its services in the cgroup2 hierarchy, where every
        # machine's processes are in one and the same root cgroup, so the machines' systemds moved each
        # other's services ("Failed to migrate controller cgroups ... Input/output error"), and a kubelet
        # with the systemd cgroup driver (1.22 on) found no kubepods.slice and never started.
        SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=0 exec systemd-nspawn --register=no --keep-unit "$@" \
            /usr/local/bin/kindling-entrypoint systemd.unified_cgroup_hierarchy=0 systemd.legacy_systemd_cgroup_controller=1
        ;;
    forget-cgroups)
        with_hierarchies remove_own_cgroup
        ;;
    restart)
        before=$(leader)
        if [ -z "$before" ]; then
            echo "machine $node is not running" >&2
            exit 1
        fi
        if systemd_host; then
            machinectl reboot "$node"
        else
            kill -INT "$before"
        fi
        deadline=$(($(date +%s) + ${KINDLING_RESTART_TIMEOUT:-300}))
        while [ "$(date +%s)" -lt "$deadline" ]; do
            now=$(leader)
            if [ -n "$now" ] && [ "$now" != "$before" ]; then
                exit 0
            fi
            sleep 1
        done
        echo "machine $node did not start again within ${KINDLING_RESTART_TIMEOUT:-300}s" >&2
        exit 1
        ;;
    hierarchies)
        hierarchies
        ;;
    cgroups)
        if cgroup_v1_host; then
            unshare --mount --propagation private /bin/sh -c "$KINDLING_SCRIPT" machine.sh own-cgroups "$node"
        fi
        ;;
    own-cgroups)
        with_hierarchies print_own_cgroup
        ;;
    delete)
        stop
        ;;
    *)
        echo "usage: machine.sh create NODE ROOTFS NAMESPACE | restart NODE | cgroups NODE | delete NODE" >&2
        exit 2
        ;;
esac
