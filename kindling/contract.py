"""Names the program, its components, the node image and the policy pack must agree on.

Nothing here imports anything, so every layer may import it: the domain (kindling/), the
components, the program and the policy pack.
"""

# The API server's port inside a control-plane node.
API_SERVER_PORT = 6443

# Labels on every node container (and the load balancer, whose role is not a node's).
LABEL_CLUSTER = "kindling.cluster"
LABEL_ROLE = "kindling.role"
NODE_ROLES = ("control-plane", "worker")
LOAD_BALANCER_ROLE = "load-balancer"

# How many control planes a cluster may have: etcd keeps a quorum with one of three (or two of
# five) members down, and gains nothing from an even count.
CONTROL_PLANE_COUNTS = (1, 3, 5)


def control_plane_name(cluster: str, index: int) -> str:
    """The container (and Kubernetes node) name of control plane ``index`` (0-based): the first
    keeps the name it had before clusters could have several, the others are numbered from 2."""
    return f"{cluster}-control-plane" if index == 0 else f"{cluster}-control-plane-{index + 1}"


def load_balancer_name(cluster: str) -> str:
    return f"{cluster}-lb"


# The build argument that carries the HAProxy configuration into the load balancer's image.
HAPROXY_CONFIG_ARG = "HAPROXY_CONFIG"
# The sha256 of the node's rendered kubeadm configuration: a changed configuration replaces the node.
LABEL_CONFIG = "kindling.config-sha256"
# Whether a node was created with the host's /lib/modules bound read-only.
LABEL_LIB_MODULES = "kindling.host-lib-modules"
LIB_MODULES_MOUNTED = "mounted"
LIB_MODULES_ABSENT = "absent-on-host"

# Scripts of components/scripts/ whose Commands the policy pack checks.
INIT_SCRIPT = "kubeadm-init.sh"
JOIN_SCRIPT = "kubeadm-join.sh"
CONTROL_PLANE_JOIN_SCRIPT = "kubeadm-join-control-plane.sh"
KUBECONFIG_SCRIPT = "admin-kubeconfig.sh"
# The host-side script that loads one local image into running nodes (kindling:images), and the
# environment variables of its Command that name the image and its id on the Docker engine.
LOAD_IMAGE_SCRIPT = "images-into-nodes.sh"
LOADED_IMAGE_VARIABLE = "KINDLING_IMAGE"
LOADED_IMAGE_ID_VARIABLE = "KINDLING_IMAGE_ID"

# Steps of the control-plane component: its child Commands are named "<component>-<step>".
INIT_STEP = "init"
KUBECONFIG_STEP = "admin-kubeconfig"

# The Helm release names of the pod networks the add-ons component installs.
CNI_RELEASES = ("calico", "flannel")

# Component resource types, as the engine names them.
NODE_IMAGE_TYPE = "kindling:index:NodeImage"
NODE_CONTAINER_TYPE = "kindling:index:NodeContainer"
CONTROL_PLANE_TYPE = "kindling:index:KubeadmControlPlane"
JOIN_TYPE = "kindling:index:KubeadmJoin"
CONTROL_PLANE_JOIN_TYPE = "kindling:index:KubeadmControlPlaneJoin"
LOAD_BALANCER_TYPE = "kindling:index:ApiServerLoadBalancer"
ADDONS_TYPE = "kindling:index:ClusterAddons"
NODE_NETWORK_TYPE = "kindling:index:NodeNetwork"
# What a restore's nodes wait for instead of the network resource, and what removes that network.
NODE_NETWORK_SCRIPT = "node-network.sh"
PRELOADED_IMAGES_TYPE = "kindling:index:PreloadedImages"
LOADED_IMAGES_TYPE = "kindling:index:LoadedImages"

# A helper container run from a node or snapshot image (make snapshot's copies): their image declares /var a
# volume, and without a mount there docker makes an anonymous volume and copies the image's /var into it at
# every run (0.7 s of a 0.9 s start on this machine). scripts/copy-volume.sh does the same for restores.
HELPER_VAR_MOUNT = "type=tmpfs,destination=/var"
# Clusters started from a snapshot (make snapshot, kindling:snapshot): the restore replaces kubeadm init/join.
RESTORE_SCRIPT = "restore-control-plane.sh"
RESTORE_WORKER_SCRIPT = "restore-worker.sh"
RESTORE_STEP = "restore"
RESTORE_IDENTITY_SCRIPT = "restore-identity.sh"
RESTORE_IDENTITY_STEP = "identity"
# The waits both control-plane restore scripts read ahead of theirs (their library).
RESTORE_WAITS = "restore-waits.sh"
# What a restored node's kubelet needs before it starts: its registration, held or not, and its QoS slices
# (read ahead of the scripts that start it).
RESTORED_KUBELET = "restored-kubelet.sh"
# Until its pod network serves, a restored node is tainted with this (NoSchedule: the network's own
# DaemonSets and kube-proxy tolerate it), so that no pod is scheduled into the kubelet's 10-15 s back-off
# after a sandbox the network could not yet set up. The file is what the network's agent writes on the
# node once it serves; a network not listed here gets no hold.
POD_NETWORK_HOLD_TAINT = "kindling.pod-network-starting"
POD_NETWORK_READY_FILES = {"flannel": "/run/flannel/subnet.env"}
RESTORE_NETWORK_SCRIPT = "restore-pod-network.sh"
RESTORE_NETWORK_STEP = "pod-network"
RESTORED_VOLUME_TYPE = "kindling:index:RestoredVolume"
RESTORED_CONTROL_PLANE_TYPE = "kindling:index:RestoredControlPlane"
RESTORED_WORKER_TYPE = "kindling:index:RestoredWorker"

# Nodes as systemd-nspawn machines (kindling:nodeRuntime nspawn; README, "Node runtimes").
NODE_MACHINE_TYPE = "kindling:index:NodeMachine"
MACHINE_NETWORK_TYPE = "kindling:index:MachineNetwork"
# Steps of a NodeMachine: the Command that starts the machine, and the one that publishes its API server.
MACHINE_STEP = "machine"
PUBLISH_API_SERVER_STEP = "api-server"
# The machine Command's environment: its systemd-nspawn options, one a line (the policies read the binds),
# and whether the host's /lib/modules is bound (values as LABEL_LIB_MODULES's).
NSPAWN_OPTIONS_VARIABLE = "KINDLING_NSPAWN_OPTIONS"
# The machines a machine finds by name ("ADDRESS NAME" a line): there is no Docker DNS between them.
MACHINE_HOSTS_VARIABLE = "KINDLING_HOSTS"
MACHINE_LIB_MODULES_VARIABLE = "KINDLING_HOST_LIB_MODULES"
# The publishing Command's environment: the host address and port the API server is reachable on.
PUBLISH_ADDRESS_VARIABLE = "KINDLING_PUBLISH_ADDRESS"
PUBLISH_PORT_VARIABLE = "KINDLING_PUBLISH_PORT"
