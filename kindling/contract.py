"""Names the program, its components and the node image must agree on. No imports: anything may use it."""

# Whether a node was created with the host's /lib/modules bound read-only (a label on the node).
LABEL_LIB_MODULES = "kindling.host-lib-modules"
LIB_MODULES_MOUNTED = "mounted"
LIB_MODULES_ABSENT = "absent-on-host"
