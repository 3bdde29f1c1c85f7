# Dependencies: Debian packages through apt-get, and the Go-built test tools through
# the Go module proxy, cached outside the repo and keyed by version so that a second
# `make deps` only checks stamps.

APT_PACKAGES := build-essential pkg-config clang llvm bpftool libbpf-dev libelf-dev \
	libdw-dev zlib1g-dev libcurl4-openssl-dev libjansson-dev libssl-dev libyaml-dev \
	libevent-dev libcapstone-dev libcmocka-dev libclang-rt-14-dev openssl curl jq wrk \
	iproute2 procps cppcheck podman buildah debootstrap runc

K8S_VERSION  ?= v1.34.2
ETCD_VERSION ?= v3.6.16
KWOK_VERSION ?= v0.7.0
HELM_VERSION ?= v3.19.0
CHAINSAW_VERSION ?= v0.2.12

CACHE_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/autotrace
K8S_BIN   := $(CACHE_DIR)/k8s-$(K8S_VERSION)
ETCD_BIN  := $(CACHE_DIR)/etcd-$(ETCD_VERSION)
KWOK_BIN  := $(CACHE_DIR)/kwok-$(KWOK_VERSION)
HELM_BIN  := $(CACHE_DIR)/helm-$(HELM_VERSION)
CHAINSAW_BIN := $(CACHE_DIR)/chainsaw-$(CHAINSAW_VERSION)
# Other mk files add their tools to TOOL_DIRS and TOOL_BINS.
TOOL_DIRS += $(K8S_BIN) $(ETCD_BIN) $(KWOK_BIN) $(HELM_BIN) $(CHAINSAW_BIN)
TOOL_BINS += $(K8S_BIN)/kube-apiserver $(ETCD_BIN)/etcd $(KWOK_BIN)/kwok $(HELM_BIN)/helm \
	$(CHAINSAW_BIN)/chainsaw
empty :=
space := $(empty) $(empty)
TOOLS_PATH = $(subst $(space),:,$(strip $(TOOL_DIRS)))

K8S_MINOR := $(word 2,$(subst ., ,$(K8S_VERSION)))
HELM_LDFLAGS := -X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION) \
	$(foreach p,pkg/chartutil pkg/lint/rules,-X helm.sh/helm/v3/$(p).k8sVersionMajor=1 \
	-X helm.sh/helm/v3/$(p).k8sVersionMinor=$(K8S_MINOR))

APT_STAMP := $(CACHE_DIR)/apt-$(shell echo $(APT_PACKAGES) | cksum | cut -d' ' -f1).stamp

.PHONY: deps deps-apt deps-tools
deps: deps-apt deps-tools
deps-apt: $(APT_STAMP)


$(APT_STAMP):
	@mkdir -p $(CACHE_DIR)
	@if dpkg-query -W -f='$${Status}\n' $(APT_PACKAGES) 2>/dev/null | grep -vq 'install ok installed' \
	   || [ $$(dpkg-query -W -f='$${Status}\n' $(APT_PACKAGES) 2>/dev/null | wc -l) -ne $(words $(APT_PACKAGES)) ]; then \
		echo "deps: installing Debian packages"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	fi
	@touch $@

$(K8S_BIN)/kube-apiserver:
	@echo "deps: building Kubernetes $(K8S_VERSION) (cold: about 4 minutes on 2 cores)"
	K8S=$(K8S_VERSION) OUT=$(K8S_BIN) tools/build-k8s.sh > $(CACHE_DIR)/k8s-build.log 2>&1 \
		|| { tail -30 $(CACHE_DIR)/k8s-build.log; exit 1; }

# etcd's server/v3 go.mod replaces its sibling modules with ../ paths, which only a
# wrapper module (tools/build-go-tool.sh) gets past. etcd, kwok and helm print
# "3.6.16", "kwok version v0.7.0" and "v3.19.0" (helm templates see KubeVersion
# v1.34.0) with the stamps below.
# One rule for every etcd version: the kind node image runs the one kubeadm asks for.
$(CACHE_DIR)/etcd-%/etcd:
	OUT=$(@D) tools/build-go-tool.sh go.etcd.io/etcd/server/v3@$* go.etcd.io/etcd/server/v3 etcd

$(KWOK_BIN)/kwok:
	OUT=$(KWOK_BIN) tools/build-go-tool.sh sigs.k8s.io/kwok@$(KWOK_VERSION) \
		sigs.k8s.io/kwok/cmd/kwok kwok \
		"-X sigs.k8s.io/kwok/pkg/consts.Version=$(KWOK_VERSION)"

$(HELM_BIN)/helm:
	OUT=$(HELM_BIN) tools/build-go-tool.sh helm.sh/helm/v3@$(HELM_VERSION) \
		helm.sh/helm/v3/cmd/helm helm "$(HELM_LDFLAGS)"

# chainsaw runs the e2e suite (e2e/chainsaw/), the form the OpenTelemetry Operator's
# e2e tests take (tools/build-chainsaw.sh says why it is built from a copy).
$(CHAINSAW_BIN)/chainsaw:
	OUT=$(CHAINSAW_BIN) tools/build-chainsaw.sh $(CHAINSAW_VERSION)
