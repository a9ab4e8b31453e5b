# shellcheck shell=sh
# Read before restore-identity.sh and restore-worker-node.sh, which call make_kubelet_slices just before
# they start a restored node's kubelet (components/restored_control_plane.py and restored_worker.py give it
# to them as their library).
#
# On a cgroup v1 host with the systemd cgroup driver, systemd removes a slice's directory (when empty) from
# the devices hierarchy whenever it applies the slice's settings again, unless the slice, or a slice or unit
# below it, has a devices setting; the kubelet has it apply its QoS slices' settings at every pod it adds. The
# kubelet sets nothing of the devices controller on them (nor on a pod's slice), and makes a pod's cgroup in
# every hierarchy itself, parents first: a pod made while another is added can lose its parent halfway
# ("mkdir /sys/fs/cgroup/devices/kubepods.slice/kubepods-besteffort.slice/...: no such file or directory",
# kubernetes/kubernetes#103542), and the kubelet tries that pod again only 10-15 s on. Until a container runs
# in a QoS slice (runc gives containers devices settings) nothing keeps its directory; a restored kubelet gets
# all its node's pods at once, in its first seconds. So the slices are made here first, as the kubelet makes
# them, each with an empty slice below it that has a devices setting (`kubepods-<qos>-kindling.slice`): systemd
# then keeps the QoS slice's devices directory, and leaves it allowing every device, as the kubelet's own does
# (a rule of the QoS slice's own would be a list, and refuse privileged containers the "a" they ask for). The
# kubelet finds its slices there and uses them as its own.

# Starts slice $1 with settings "$@" after it (busctl's a(sv) words, their count first). One there already (a
# restore run again after its kubelet started) is kept as it is.
start_slice() {
    slice=$1
    shift
    if ! refused=$(busctl -- call org.freedesktop.systemd1 /org/freedesktop/systemd1 \
        org.freedesktop.systemd1.Manager StartTransientUnit 'ssa(sv)a(sa(sv))' "$slice" replace "$@" 0 2>&1); then
        systemctl is-active --quiet "$slice" || { echo "$refused" >&2; return 1; }
    fi
}

make_kubelet_slices() {
    [ -d /sys/fs/cgroup/devices ] || return 0 # cgroup v2: one hierarchy, from which nothing is removed
    grep -qs '^cgroupDriver: *systemd' /var/lib/kubelet/config.yaml || return 0 # cgroupfs: systemd has no part
    # The settings the kubelet gives its slices (runc's systemd driver).
    kubelet_settings='MemoryAccounting b true CPUAccounting b true BlockIOAccounting b true TasksAccounting b true'
    # shellcheck disable=SC2086 # the settings are words for busctl
    start_slice kubepods.slice 7 Description s "the kubelet's pods (made by kindling's restore)" \
        Wants as 1 -.slice $kubelet_settings DefaultDependencies b false
    for qos in besteffort burstable; do
        # shellcheck disable=SC2086
        start_slice "kubepods-$qos.slice" 7 Description s "the kubelet's $qos pods (made by kindling's restore)" \
            Wants as 1 kubepods.slice $kubelet_settings DefaultDependencies b false
        start_slice "kubepods-$qos-kindling.slice" 4 \
            Description s "no processes: keeps kubepods-$qos.slice's devices cgroup (kindling's restore)" \
            Wants as 1 "kubepods-$qos.slice" DefaultDependencies b false DevicePolicy s strict
    done
}
