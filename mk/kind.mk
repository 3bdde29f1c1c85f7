# kind: the e2e rung's real cluster. `make deps` builds kind and a CoreDNS with the
# plugins kubeadm's Corefile uses (kubeadm, kubelet and kube-proxy come from the same
# Kubernetes build as the control plane, tools/build-k8s.sh); `make kind-node-image`
# builds the node image for machines that reach no registry (e2e/kind/node-image/);
# `make kind-up` creates the cluster and loads autotrace's images, `make kind-down`
# deletes it and restores what a running node changed on the host.

KIND_VERSION ?= v0.33.0
KIND_BIN     := $(CACHE_DIR)/kind-$(KIND_VERSION)
KIND_EXE     := $(KIND_BIN)/kind
TOOL_DIRS += $(KIND_BIN)
# The etcd kubeadm $(K8S_VERSION) deploys (`kubeadm config images list`): the node image
# carries exactly the images kubeadm asks for.
KIND_ETCD_VERSION ?= v3.6.5
KIND_ETCD_EXE := $(CACHE_DIR)/etcd-$(KIND_ETCD_VERSION)/etcd
TOOL_BINS += $(KIND_EXE) $(K8S_BIN)/kubeadm $(KIND_ETCD_EXE)

# v0.33.0 prints "kind v0.33.0 go1.26.8 linux/amd64" with the module's own version.
$(KIND_EXE):
	@echo "deps: building kind $(KIND_VERSION)"
	OUT=$(KIND_BIN) tools/build-go-tool.sh sigs.k8s.io/kind@$(KIND_VERSION) sigs.k8s.io/kind kind

# CoreDNS: the version kubeadm $(K8S_VERSION) deploys, built from tools/coredns (a main
# with the plugins the kubeadm Corefile names), keyed by a hash of that module.
COREDNS_SRCS    := tools/coredns/main.go tools/coredns/go.mod tools/coredns/go.sum
COREDNS_VERSION := $(shell sed -n 's#^require github.com/coredns/coredns \(v[0-9.]*\)#\1#p' tools/coredns/go.mod 2>/dev/null)
COREDNS_HASH    := $(shell cat $(COREDNS_SRCS) 2>/dev/null | cksum | cut -d' ' -f1)
COREDNS_DIR     := $(CACHE_DIR)/coredns-$(COREDNS_VERSION)-$(COREDNS_HASH)
COREDNS_EXE     := $(COREDNS_DIR)/coredns
TOOL_BINS += $(COREDNS_EXE)

# Order-only: the directory is keyed by a hash of the sources, so a fresh checkout
# (new mtimes, same content) reuses the cached binary.
$(COREDNS_EXE): | $(COREDNS_SRCS)
	@mkdir -p $(@D)
	@echo "deps: building CoreDNS $(COREDNS_VERSION)"
	$(Q)cd tools/coredns && GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly \
		go build -trimpath -ldflags "-s -w" -o $(abspath $@).tmp . && mv $(abspath $@).tmp $(abspath $@)

# kubeadm, kubelet and kube-proxy are built with kube-apiserver (tools/build-k8s.sh
# moves kube-apiserver in last); a cache from before they were added lacks them.
$(K8S_BIN)/kubeadm: | $(K8S_BIN)/kube-apiserver
	@[ -x $@ ] || { rm -f $(K8S_BIN)/kube-apiserver && $(MAKE) --no-print-directory $(K8S_BIN)/kube-apiserver; }

# The node image: its inputs are the versions and the files under e2e/kind/node-image.
KIND_NODE_SRCS  := $(sort $(wildcard e2e/kind/node-image/*))
KIND_NODE_KEY   := $(shell echo $(K8S_VERSION) $(KIND_ETCD_VERSION) $(COREDNS_VERSION) $(KIND_VERSION) \
	| cat - $(KIND_NODE_SRCS) 2>/dev/null | cksum | cut -d' ' -f1)
KIND_NODE_IMAGE ?= docker.io/autotrace/kind-node:$(K8S_VERSION)-$(KIND_NODE_KEY)
KIND_NODE_STAMP := $(CACHE_DIR)/kind-node/$(KIND_NODE_KEY).stamp
# The environment of every kind script: the tools, the versions, the image names.
KIND_ENV = PATH="$(TOOLS_PATH):$$PATH" CACHE_DIR=$(CACHE_DIR) K8S_VERSION=$(K8S_VERSION) \
	K8S_BIN=$(K8S_BIN) ETCD_EXE=$(KIND_ETCD_EXE) \
	COREDNS_EXE=$(COREDNS_EXE) COREDNS_VERSION=$(COREDNS_VERSION) KIND_MODULE_VERSION=$(KIND_VERSION) \
	KIND_NODE_IMAGE=$(KIND_NODE_IMAGE) CC="$(CC)"

.PHONY: kind-node-image kind-up kind-down
kind-node-image: $(KIND_NODE_STAMP)
# Order-only: KIND_NODE_KEY already holds the versions and the files.
$(KIND_NODE_STAMP): | $(KIND_EXE) $(K8S_BIN)/kubeadm $(KIND_ETCD_EXE) $(COREDNS_EXE) $(KIND_NODE_SRCS) deps-apt
	$(KIND_ENV) e2e/kind/node-image/build.sh
	@mkdir -p $(@D) && touch $@

kind-up: deps $(KIND_NODE_STAMP) images
	@$(KIND_ENV) IMAGE_ARCHIVES="$(IMAGE_ARCHIVES)" e2e/kind/up.sh

kind-down:
	@$(KIND_ENV) e2e/kind/down.sh
