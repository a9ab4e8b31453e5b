# kindling: make up STACK=k8s-1-19-1 | make test | make kubeconfig | make destroy
SHELL := /bin/bash
.DEFAULT_GOAL := help

STACK ?= k8s-1-19-1
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PULUMI ?= pulumi

.PHONY: help setup test lint tools up preview kubeconfig load destroy recover toolchain preview-all clean bundle bundle-apply e2e matrix drills bench snapshot snapshot-ls snapshot-rm conformance

help:
	@echo "make up STACK=<stack>       create the cluster of one stack (stacks/Pulumi.<stack>.yaml); ARGS=--yes passes flags to pulumi"
	@echo "make preview STACK=<stack>  preview it with the policy pack"
	@echo "make kubeconfig [MERGE=1]   write ./kubeconfig for the current stack (MERGE=1: also a context <stack> in ~/.kube/config)"
	@echo "make load STACK=<stack> IMAGE=app:dev   local images into every running node now, without an update"
	@echo "make destroy STACK=<stack>  remove everything the stack created"
	@echo "make bundle RELEASE=1.19.1 [OUT=dir]   build a catalog release from Go modules, offline"
	@echo "make bundle-apply RELEASE=1.19.1 STACK=<stack>   point a stack at that bundle"
	@echo "make e2e STACK=<stack>      a real cluster from the bundle: up, checks, restart, destroy"
	@echo "make recover STACK=<stack>  after an interrupted up: clear its pending operations and stray Docker objects"
	@echo "make drills STACK=<stack>   reliability drills on real clusters: killed ups, leaks, load, engine restart, side by side"
	@echo "make matrix [STACKS='k8s-1-19-1 ...']   make e2e over catalog releases (default: all), into one JSON and the README's table"
	@echo "make bench STACK=<stack>    kindling against the hand-made floor, timed side by side"
	@echo "make snapshot STACK=<stack> [NAME=...]   capture a running cluster; kindling:snapshot: NAME starts a stack from it"
	@echo "make snapshot-ls | snapshot-rm NAME=...   list or remove snapshots"
	@echo "make conformance STACK=<stack> [ARGS='--serial | --focus REGEX']   the release's conformance suite on a cluster from its bundle"
	@echo "make test | lint | setup | toolchain | preview-all"

$(BIN)/python: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt -r requirements-dev.txt
	@touch $(BIN)/python

# The policy pack runs in its own virtualenv (policies/PulumiPolicy.yaml).
policies/venv/bin/python: policies/requirements.txt
	$(PYTHON) -m venv policies/venv
	policies/venv/bin/pip install --quiet -r policies/requirements.txt
	@touch policies/venv/bin/python

setup: $(BIN)/python policies/venv/bin/python

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	shellcheck tools/*.sh bench/*.sh conformance/image-files/busybox-build.sh bundle/image-files/iptables-wrapper node-image/files/usr/local/lib/kindling/runc-within-bounds components/scripts/*.sh load-balancer-image/*.sh node-image/*.sh node-image/files/usr/local/bin/kindling-entrypoint node-image/files/usr/local/lib/kindling/*.sh .ci/*.sh .ci/run .ci/preview-all

# Say what is missing, and how to get it, before doing anything (tools/prerequisites.sh).
tools:
	@PULUMI=$(PULUMI) tools/prerequisites.sh

# Use the user's Pulumi backend if they are logged in to one, else a local one; then select (or create) the stack.
define select_stack
	@$(PULUMI) whoami >/dev/null 2>&1 || $(PULUMI) login --local
	@$(PULUMI) stack select $(STACK) 2>/dev/null || $(PULUMI) stack init $(STACK)
endef

up: tools setup
	$(select_stack)
	tools/private-tmpdir.sh $(PULUMI) up --stack $(STACK) --policy-pack policies $(if $(POLICY_CONFIG),--policy-pack-config $(POLICY_CONFIG)) $(ARGS)

preview: tools setup
	$(select_stack)
	tools/private-tmpdir.sh $(PULUMI) preview --stack $(STACK) --policy-pack policies $(if $(POLICY_CONFIG),--policy-pack-config $(POLICY_CONFIG)) $(ARGS)

# MERGE=1 also adds the cluster to $(KUBE_CONFIG) as a context named after the stack (as kind does); make destroy
# removes it again (tools/kubeconfig_context.py).
KUBE_CONFIG ?= $(HOME)/.kube/config
kubeconfig: tools $(if $(MERGE),setup)
	@umask 077; $(PULUMI) stack output kubeconfig --show-secrets --stack $(STACK) > kubeconfig.tmp || { rm -f kubeconfig.tmp; exit 1; }
	@mv kubeconfig.tmp kubeconfig
	@echo "wrote ./kubeconfig: export KUBECONFIG=$$PWD/kubeconfig"
	$(if $(MERGE),@$(BIN)/python tools/kubeconfig_context.py merge $(STACK) kubeconfig $(KUBE_CONFIG))

# Local images into every node of the running cluster, now, without a Pulumi update (tools/load-image.sh);
# IMAGE='app:dev other:1' loads several. kindling:images does the same on every up.
load:
	@tools/load-image.sh $(STACK) $(IMAGE)

# After the cluster, the stack goes too (KEEP_STACK=1 keeps it), and with it the encryption salt that
# pulumi stack init wrote into the stack file, unless the file holds secrets that need it.
destroy: tools setup
	tools/private-tmpdir.sh $(PULUMI) destroy --stack $(STACK) $(ARGS)
	@$(BIN)/python tools/kubeconfig_context.py remove $(STACK) $(KUBE_CONFIG)
	@if [ -z "$(KEEP_STACK)" ]; then \
		$(PULUMI) stack rm --stack $(STACK) --preserve-config --yes && \
		{ grep -q 'secure:' stacks/Pulumi.$(STACK).yaml || sed -i '/^encryptionsalt: /d' stacks/Pulumi.$(STACK).yaml; }; \
	fi

# After an interrupted `up` (killed, lost machine): the state's pending creates cleared, and the cluster's
# Docker objects that no resource owns removed; `make up` then finishes the cluster (tools/recover.py).
recover: tools setup
	$(BIN)/python tools/recover.py $(STACK) $(ARGS)

# The Pulumi CLI, language host and providers built from Go modules (see .ci/pulumi-toolchain.sh).
toolchain:
	.ci/pulumi-toolchain.sh

preview-all: setup
	.ci/preview-all

# A release built from source (bundle/): binaries, images, a download mirror and a stack fragment.
RELEASE ?= $(shell sed -n 's/^ *kindling:kubernetesVersion: *"\{0,1\}\([0-9.]*\)"\{0,1\}/\1/p' stacks/Pulumi.$(STACK).yaml)
bundle: setup
	$(BIN)/python -m bundle build $(RELEASE) $(if $(OUT),--out $(OUT))

bundle-apply: setup
	$(BIN)/python -m bundle apply $(RELEASE) --stack $(STACK) $(if $(OUT),--bundle $(OUT))

e2e: setup
	$(BIN)/python -m tests.e2e.run $(STACK) $(ARGS)

# make e2e over catalog releases one after the other (tests/e2e/matrix.py): tests/e2e/matrix.json and the
# README's compatibility table, generated from it. STACKS defaults to every catalog stack.
matrix: setup
	$(BIN)/python -m tests.e2e.matrix $(STACKS) $(ARGS)

# Reliability drills on a real cluster of the stack's release (tests/drills/run.py; README, Reliability).
drills: setup
	$(BIN)/python -m tests.drills.run $(STACK) $(ARGS)

# kindling against a hand-made floor on this host (bench/): a table, ratios and a JSON of figures.
bench: setup
	$(BIN)/python -m bench $(STACK) $(ARGS)

# Snapshots of running clusters (snapshot/): a stack with kindling:snapshot: NAME starts from one.
snapshot: setup
	$(BIN)/python -m snapshot create $(STACK) $(if $(NAME),--name $(NAME))

snapshot-ls: setup
	$(BIN)/python -m snapshot ls

snapshot-rm: setup
	$(BIN)/python -m snapshot rm $(NAME)

# The release's own conformance suite (e2e.test and ginkgo built from its module) against a cluster made
# from its bundle, with every test image built here (conformance/). Never part of make test or CI.
conformance: setup
	$(BIN)/python -m conformance $(STACK) $(ARGS)

clean:
	rm -rf $(VENV) policies/venv .pytest_cache .ruff_cache .hypothesis kubeconfig
