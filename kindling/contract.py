"""Names the program, its components, the node image and the policy pack must agree on.

Nothing here imports anything, so every layer may import it: the domain (kindling/), the
components, the program and the policy pack.
"""

# The API server's port inside a control-plane node.
API_SERVER_PORT = 6443

# Labels on every node container.
LABEL_CLUSTER = "kindling.cluster"
LABEL_ROLE = "kindling.role"
NODE_ROLES = ("control-plane", "worker")
# The sha256 of the node's rendered kubeadm configuration: a changed configuration replaces the node.
LABEL_CONFIG = "kindling.config-sha256"
# Whether a node was created with the host's /lib/modules bound read-only.
LABEL_LIB_MODULES = "kindling.host-lib-modules"
LIB_MODULES_MOUNTED = "mounted"
LIB_MODULES_ABSENT = "absent-on-host"

# Scripts of components/scripts/ whose Commands the policy pack checks.
INIT_SCRIPT = "kubeadm-init.sh"
JOIN_SCRIPT = "kubeadm-join.sh"
KUBECONFIG_SCRIPT = "admin-kubeconfig.sh"

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
ADDONS_TYPE = "kindling:index:ClusterAddons"
NODE_NETWORK_TYPE = "kindling:index:NodeNetwork"
PRELOADED_IMAGES_TYPE = "kindling:index:PreloadedImages"
