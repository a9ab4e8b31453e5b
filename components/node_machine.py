"""A Kubernetes node as a systemd-nspawn machine (kindling:nodeRuntime nspawn; README, "Node runtimes").

The same node image as a node container, unpacked into a directory; the machine runs its entrypoint
(the same boot-time fixes, then systemd as PID 1) with every capability the host has but
CAP_SYS_RESOURCE, /lib/modules read-only, in a network namespace of its own on the cluster's bridge.
Each piece is a Command whose delete removes what its create made; the component is done when systemd
inside has finished booting, as for a node container.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from components.api_server_port import ApiServerPublishing, PublishedApiServer, publish_api_server
from components.machine_network import RULES, MachineNetwork
from components.machine_shell import in_machine, machine_environment, on_host_with_machines
from components.node_container import NODE_CAPABILITIES, SYSTEMD_BOOT_TIMEOUT_SECONDS
from components.shell import Library, ScriptCommand, on_host, run_script
from kindling.contract import (
    LIB_MODULES_ABSENT,
    LIB_MODULES_MOUNTED,
    MACHINE_HOSTS_VARIABLE,
    MACHINE_LIB_MODULES_VARIABLE,
    MACHINE_STEP,
    NODE_MACHINE_TYPE,
    NSPAWN_OPTIONS_VARIABLE,
    PUBLISH_ADDRESS_VARIABLE,
    PUBLISH_API_SERVER_STEP,
    PUBLISH_PORT_VARIABLE,
)


def nspawn_options(mount_lib_modules: bool) -> list[str]:
    """systemd-nspawn's options for a node, besides its name, directory and network namespace."""
    options = [
        # What a privileged node container gets, but CAP_SYS_RESOURCE (not every host's bounding set has it).
        "--capability=" + ",".join(f"CAP_{name}" for name in NODE_CAPABILITIES),
        "--drop-capability=CAP_SYS_RESOURCE",
        # runc puts each container in a session keyring; BPF and perf for the CNI and the kubelet.
        "--system-call-filter=@keyring bpf perf_event_open",
        "--private-users=no",
        "--resolv-conf=copy-host",
        # Boot messages go to the machine's log (a unit's journal, or the supervisor's log file).
        "--console=read-only",
    ]
    if mount_lib_modules:
        options.append("--bind-ro=/lib/modules")
    return options


@dataclass
class NodeMachineArgs:
    name: str
    image: pulumi.Input[str]
    # The cluster's directory of machines (root filesystems, and the supervisor's files).
    machines_dir: str
    network: MachineNetwork
    veth: str
    ip: str
    gateway: str
    prefix_length: int
    mount_lib_modules: bool
    config_sha256: str
    # Other machines it finds by name, name -> address: the control planes, which joining nodes reach by name.
    hosts: dict[str, str] = field(default_factory=dict)
    api_server: ApiServerPublishing | None = None
    after: list[pulumi.Resource] = field(default_factory=list)


class NodeMachine(pulumi.ComponentResource):
    def __init__(self, name: str, args: NodeMachineArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(NODE_MACHINE_TYPE, name, None, opts)
        self.node_name = args.name
        self.machines_dir = args.machines_dir
        node, rootfs = args.name, f"{args.machines_dir}/{args.name}"
        # One path on the host for each of these: the old one must be gone before its replacement is made.
        replaced_in_place = pulumi.ResourceOptions(parent=self, delete_before_replace=True)

        unpack = on_host("machine-rootfs.sh", "create", "IMAGE", rootfs)
        self.rootfs = run_script(
            f"{name}-rootfs",
            ScriptCommand(
                create=pulumi.Output.from_input(args.image).apply(
                    lambda image: on_host("machine-rootfs.sh", "create", image, rootfs).create
                ),
                environment=unpack.environment,
            ),
            delete=on_host("machine-rootfs.sh", "delete", rootfs).create,
            update="true",
            # A new node image, or a changed kubeadm configuration: a new machine, initialised or joined again.
            triggers=[args.image, args.config_sha256],
            opts=pulumi.ResourceOptions.merge(replaced_in_place, pulumi.ResourceOptions(depends_on=args.after)),
        )
        self.namespace = run_script(
            f"{name}-network-namespace",
            on_host(
                "machine-namespace.sh",
                "create",
                node,
                args.veth,
                args.network.bridge_name,
                f"{args.ip}/{args.prefix_length}",
                args.gateway,
            ),
            delete=on_host("machine-namespace.sh", "delete", node, args.veth).create,
            update="true",
            triggers=[args.network.bridge.id, args.ip],
            opts=pulumi.ResourceOptions.merge(replaced_in_place, pulumi.ResourceOptions(depends_on=[args.network])),
        )
        options = "\n".join(nspawn_options(args.mount_lib_modules))
        started = on_host("machine.sh", "create", node, rootfs, node)
        self.machine = run_script(
            f"{name}-{MACHINE_STEP}",
            ScriptCommand(
                create=started.create,
                environment={
                    **started.environment,
                    **machine_environment(args.machines_dir),
                    NSPAWN_OPTIONS_VARIABLE: options,
                    MACHINE_HOSTS_VARIABLE: "\n".join(f"{ip} {host}" for host, ip in args.hosts.items()),
                    MACHINE_LIB_MODULES_VARIABLE: LIB_MODULES_MOUNTED if args.mount_lib_modules else LIB_MODULES_ABSENT,
                },
            ),
            delete=on_host("machine.sh", "delete", node).create,
            update="true",
            # A new root filesystem or namespace, or other options: the machine starts again with them.
            triggers=[self.rootfs.id, self.namespace.id, options],
            opts=pulumi.ResourceOptions.merge(
                replaced_in_place, pulumi.ResourceOptions(depends_on=[self.rootfs, self.namespace])
            ),
        )

        self.published: PublishedApiServer | None = None
        if args.api_server is not None:
            self.published, _ = publish_api_server(name, args.api_server, self)
            published = on_host("publish-api-server.sh", "create", args.network.bridge_name, args.ip, library=RULES)
            self.publishing = run_script(
                f"{name}-{PUBLISH_API_SERVER_STEP}",
                ScriptCommand(
                    create=published.create,
                    environment={
                        **published.environment,
                        PUBLISH_ADDRESS_VARIABLE: self.published.address,
                        PUBLISH_PORT_VARIABLE: self.published.host_port.apply(str),
                    },
                ),
                delete=on_host(
                    "publish-api-server.sh", "delete", args.network.bridge_name, args.ip, library=RULES
                ).create,
                update="true",
                triggers=[self.published.address, self.published.host_port, args.ip],
                opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True, depends_on=[args.network]),
            )

        booted = run_script(
            f"{name}-systemd",
            self.on_host("wait-for-systemd.sh", "machine", node, str(SYSTEMD_BOOT_TIMEOUT_SECONDS)),
            triggers=[self.machine.id],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.machine]),
        )
        self.systemd_state = booted.stdout
        self.started: pulumi.Resource = self.machine
        self.ready: pulumi.Resource = booted
        self.register_outputs({"machine": node, "systemdState": self.systemd_state, "ip": args.ip})

    # How kubeadm steps reach it (components/node.py): nsenter into the machine.
    @property
    def instance_id(self) -> pulumi.Output[str]:
        return self.machine.id

    def in_node(self, script_name: str, *args: str, library: Library = None) -> ScriptCommand:
        return in_machine(self.machines_dir, self.node_name, script_name, *args, library=library)

    def on_host(
        self, script_name: str, *args: str, environment: dict[str, pulumi.Input[str]] | None = None
    ) -> ScriptCommand:
        return on_host_with_machines(self.machines_dir, script_name, *args, environment=environment)
