# shellcheck shell=sh
# Read before restore-identity.sh and restore-worker-node.sh, which call prepare_restored_kubelet just
# before they start a restored node's kubelet (components/restored_control_plane.py and restored_worker.py
# give it to them as their library): its Node registers held, or not, and its QoS slices are made (below).
#
# On a cgroup v1 host with the systemd cgroup driver, systemd removes a slice's directory (when empty) from
# the devices hierarchy whenever it applies the slice's settings again, unless the slice, or a slice or unit
# below it, has a devices setting; the kubelet has it apply its QoS slices' settings at every pod it adds. The
# kubelet sets nothing of the devices controller on them (nor on a pod's slice), and makes a pod's cgroup in
# every hierarchy itself, parents first: a pod made while another is added can lose its parent halfway
# ("mkdir /sys/fs/cgroup/devices/kubepods.slice/kubepods-besteffort.slice/...: no such file or directory",
# kubernetes/kubernetes#103542), and the kubelet tries that pod again only 10-15 s on. Until a container runs
# in a QoS slice (runc gives containers devices settings) nothing keeps its directory, and a kubelet gets all
# its node's pods at once in its first seconds: at a restore, and again at every start of the node (a
# `docker restart`, the host's reboot). So the slices are units of the node, started before its kubelet at
# every start, as the kubelet makes them, each with an empty slice below it that has a devices setting
# (`kubepods-<qos>-kindling.slice`): systemd then keeps the QoS slice's devices directory, and leaves it
# allowing every device, as the kubelet's own does (a rule of the QoS slice's own would be a list, and refuse
# privileged containers the "a" they ask for). The kubelet finds its slices there and uses them as its own
# (systemd answers its request for each that it exists, which the kubelet's runc takes as done).

# The settings the kubelet gives its slices (runc's systemd driver).
KUBELET_SLICE_SETTINGS='MemoryAccounting=yes
CPUAccounting=yes
BlockIOAccounting=yes
TasksAccounting=yes'

# Writes unit file $1.slice with description $2, wanting slice $3, and [Slice] settings $4.
write_slice() {
    printf '[Unit]\nDescription=%s\nWants=%s\nDefaultDependencies=no\n\n[Slice]\n%s\n' "$2" "$3" "$4" \
        > "/etc/systemd/system/$1.slice"
}

make_kubelet_slices() {
    [ -d /sys/fs/cgroup/devices ] || return 0 # cgroup v2: one hierarchy, from which nothing is removed
    grep -qs '^cgroupDriver: *systemd' /var/lib/kubelet/config.yaml || return 0 # cgroupfs: systemd has no part
    write_slice kubepods "the kubelet's pods (made by kindling)" -.slice "$KUBELET_SLICE_SETTINGS"
    keepers=
    for qos in besteffort burstable; do
        write_slice "kubepods-$qos" "the kubelet's $qos pods (made by kindling)" kubepods.slice \
            "$KUBELET_SLICE_SETTINGS"
        write_slice "kubepods-$qos-kindling" "no processes: keeps kubepods-$qos.slice's devices cgroup (kindling)" \
            "kubepods-$qos.slice" DevicePolicy=strict
        keepers="$keepers kubepods-$qos-kindling.slice"
    done
    mkdir -p /etc/systemd/system/kubelet.service.d
    printf '[Unit]\nWants=%s\nAfter=%s\n' "${keepers# }" "${keepers# }" \
        > /etc/systemd/system/kubelet.service.d/20-kindling-slices.conf
}

# Before a restored node's kubelet starts: while the drop-in exists, the kubelet registers its Node held with
# taint $1 until its pod network serves (restore-pod-network.sh lifts it; empty: registered as any node).
# Under /run, it is gone when the node restarts. Then the slices, and systemd reads both.
prepare_restored_kubelet() {
    registration=/run/systemd/system/kubelet.service.d/50-kindling-restore.conf
    if [ -n "$1" ]; then
        mkdir -p "$(dirname "$registration")"
        printf '[Service]\nEnvironment="KUBELET_EXTRA_ARGS=--register-with-taints=%s:NoSchedule"\n' "$1" \
            > "$registration"
    else
        rm -f "$registration"
    fi
    make_kubelet_slices
    systemctl daemon-reload
}
