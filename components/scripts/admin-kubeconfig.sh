#!/bin/sh
# Node side: print the cluster-admin kubeconfig kubeadm wrote. The Command running this keeps it secret.
set -eu
cat /etc/kubernetes/admin.conf
