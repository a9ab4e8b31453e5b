"""A Kubernetes node: a systemd container on the cluster's Docker network.

Mirrors how kind runs a node (see ../shared/reference/node-mechanics.md):
systemd is PID 1, /run and /tmp are tmpfs, /var is an anonymous volume (so
containerd's overlay snapshots do not sit on the container's own overlayfs),
the host's kernel modules are visible read-only, and the API server port is
published on one host address only. The component is done when systemd inside
has finished booting: nothing may be exec'd into a node before that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_command as command
import pulumi_docker as docker

from components.api_server_port import ApiServerPublishing, PublishedApiServer, publish_api_server
from components.preloaded_images import PreloadedImages
from components.shell import Library, ScriptCommand, in_node, on_host, run_script
from kindling.contract import (
    LABEL_CLUSTER,
    LABEL_CONFIG,
    LABEL_LIB_MODULES,
    LABEL_ROLE,
    LIB_MODULES_ABSENT,
    LIB_MODULES_MOUNTED,
    NODE_CONTAINER_TYPE,
)

SYSTEMD_BOOT_TIMEOUT_SECONDS = 180

# For hosts whose capability bounding set makes `docker run --privileged`
# fail ("unable to apply caps"): the capabilities Docker 20.10 and later accept,
# but SYS_RESOURCE, which such hosts lack. Pods can only get what the node has.
NODE_CAPABILITIES = (
    "AUDIT_CONTROL",
    "AUDIT_READ",
    "AUDIT_WRITE",
    "BLOCK_SUSPEND",
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "IPC_LOCK",
    "IPC_OWNER",
    "KILL",
    "LEASE",
    "LINUX_IMMUTABLE",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "MKNOD",
    "NET_ADMIN",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_RAW",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYSLOG",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_CHROOT",
    "SYS_MODULE",
    "SYS_NICE",
    "SYS_PACCT",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "WAKE_ALARM",
)


def security_options(privileged: bool) -> list[str]:
    """seccomp and AppArmor unconfined, listed as Docker reports them: for a privileged container
    it adds label=disable itself, and a list that differs from Docker's would replace the node."""
    options = ["seccomp=unconfined", "apparmor=unconfined"]
    return [*options, "label=disable"] if privileged else options


Role = Literal["control-plane", "worker"]
# privileged: docker run --privileged; capabilities: an explicit list, for hosts that refuse it.
SecurityMode = Literal["privileged", "capabilities"]


@dataclass
class NodeContainerArgs:
    name: str
    cluster: str
    role: Role
    image: pulumi.Input[str]
    network: pulumi.Input[str]
    ip: str
    security: SecurityMode
    mount_lib_modules: bool
    config_sha256: str
    api_server: ApiServerPublishing | None = None
    # Local images loaded into the node's containerd once it has booted: those of preloaded_images
    # that this node runs (all of them, when not narrowed).
    preloaded_images: PreloadedImages | None = None
    runs_images: list[str] | None = None
    # A volume for /var made beforehand (a node started from a snapshot: components/restored_volume.py);
    # None gives the node a fresh anonymous one, which Docker fills from the image.
    var_volume: pulumi.Input[str] | None = None
    after: list[pulumi.Resource] = field(default_factory=list)


class NodeContainer(pulumi.ComponentResource):
    container: docker.Container
    systemd_state: pulumi.Output[str]

    def __init__(self, name: str, args: NodeContainerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(NODE_CONTAINER_TYPE, name, None, opts)
        self.node_name = args.name
        privileged = args.security == "privileged"

        # A bind mount, not a volume: Docker would create a missing /lib/modules on the host.
        mounts = []
        if args.mount_lib_modules:
            mounts.append(
                docker.ContainerMountArgs(type="bind", source="/lib/modules", target="/lib/modules", read_only=True)
            )
        # No bind of the host's /sys/fs/cgroup, even without --privileged: a node's systemd would
        # rewrite the host's cgroup mounts. The private cgroup namespace plus the image's
        # entrypoint (which remounts the node's own cgroups writable) do the job.

        labels = {
            LABEL_CLUSTER: args.cluster,
            LABEL_ROLE: args.role,
            # A node whose kubeadm configuration changes is replaced, not re-initialised in place.
            LABEL_CONFIG: args.config_sha256,
            LABEL_LIB_MODULES: LIB_MODULES_MOUNTED if args.mount_lib_modules else LIB_MODULES_ABSENT,
        }
        ports = []
        self.published: PublishedApiServer | None = None
        if args.api_server is not None:
            self.published, port = publish_api_server(name, args.api_server, self)
            ports.append(port)

        self.container = docker.Container(
            name,
            name=args.name,
            hostname=args.name,
            image=args.image,
            privileged=privileged,
            # Without --privileged the node also needs every device; pulumi-docker 5.0 cannot set a device
            # cgroup rule, so the image's entrypoint grants them itself (possible on cgroup v1 hosts).
            # As Docker reports them back (CAP_ prefix), or a refresh makes the next up replace the node.
            capabilities=None
            if privileged
            else docker.ContainerCapabilitiesArgs(adds=[f"CAP_{name}" for name in NODE_CAPABILITIES]),
            security_opts=security_options(privileged),
            cgroupns_mode="private",
            tmpfs={"/run": "", "/tmp": ""},
            volumes=[docker.ContainerVolumeArgs(container_path="/var", volume_name=args.var_volume)],
            mounts=mounts,
            labels=[docker.ContainerLabelArgs(label=k, value=v) for k, v in labels.items()],
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=args.network, ipv4_address=args.ip)],
            ports=ports,
            restart="on-failure",
            max_retry_count=1,
            init=False,
            tty=True,
            stop_signal="SIGRTMIN+3",
            # A node being removed needs no clean shutdown (systemd's takes 7-13 s): Docker kills it.
            destroy_grace_seconds=0,
            remove_volumes=True,
            must_run=True,
            opts=pulumi.ResourceOptions(
                parent=self,
                # The name and the fixed address are taken until the old node is gone.
                delete_before_replace=True,
                depends_on=args.after,
            ),
        )

        booted = run_script(
            f"{name}-systemd",
            on_host("wait-for-systemd.sh", "container", args.name, str(SYSTEMD_BOOT_TIMEOUT_SECONDS)),
            triggers=[self.container.id],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.container]),
        )
        self.systemd_state = booted.stdout
        self.started: pulumi.Resource = self.container
        # What kubeadm must wait for: a booted node, with its preloaded images when it has some.
        self.ready: command.local.Command = booted
        preloaded = args.preloaded_images
        images = [] if preloaded is None else preloaded.names if args.runs_images is None else args.runs_images
        if preloaded is not None and images:
            self.ready = run_script(
                f"{name}-images",
                on_host("load-images.sh", args.name, *images),
                triggers=[self.container.id, *(preloaded.id_of[image] for image in images)],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[booted]),
            )
        self.register_outputs({"containerName": self.container.name, "systemdState": self.systemd_state, "ip": args.ip})

    # How kubeadm steps reach it (components/node.py): docker exec.
    @property
    def instance_id(self) -> pulumi.Output[str]:
        return self.container.id

    def in_node(self, script_name: str, *args: str, library: Library = None) -> ScriptCommand:
        return in_node(self.node_name, script_name, *args, library=library)

    def on_host(
        self, script_name: str, *args: str, environment: dict[str, pulumi.Input[str]] | None = None
    ) -> ScriptCommand:
        return on_host(script_name, *args, environment=environment)
