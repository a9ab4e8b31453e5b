"""kindling: exact Kubernetes releases in systemd node containers, as Pulumi stacks."""
