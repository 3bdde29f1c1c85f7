# Go test fixtures: small Go programs from tests/fixtures/go built with several Go
# toolchains (fetched through the Go module proxy by GOTOOLCHAIN, cached in the
# default GOMODCACHE), each plain, stripped (-s -w) and, with the local toolchain, as
# PIE (internally and externally linked). build/fixtures/manifest.txt lists the net/http hello server's builds, one per
# line:
#   <path> <go version> <stripped 0|1>
# build/fixtures/grpc-manifest.txt the gRPC server's (local toolchain, the grpc version
# its go.mod pins), and <path>.modinfo keeps `go version -m` of each.

FIXTURE_GO_LOCAL    := $(shell go env GOVERSION 2>/dev/null)
FIXTURE_GO_VERSIONS ?= go1.22.12 go1.24.13 $(FIXTURE_GO_LOCAL)
FIXTURE_DIR         := build/fixtures
# A program's sources: its folder, and the local module the hello server replaces in.
fixture_srcs = $(wildcard tests/fixtures/go/$(1)/*.go tests/fixtures/go/$(1)/go.* \
	tests/fixtures/go/greet/*.go tests/fixtures/go/greet/go.mod)
FIXTURE_BINS        := $(foreach v,$(FIXTURE_GO_VERSIONS),$(FIXTURE_DIR)/hello-$(v) \
	$(FIXTURE_DIR)/hello-$(v)-stripped) $(FIXTURE_DIR)/hello-$(FIXTURE_GO_LOCAL)-pie \
	$(FIXTURE_DIR)/hello-$(FIXTURE_GO_LOCAL)-pie-external
FIXTURE_MANIFEST    := $(FIXTURE_DIR)/manifest.txt
GRPC_FIXTURE_BINS   := $(FIXTURE_DIR)/grpcserver-$(FIXTURE_GO_LOCAL) \
	$(FIXTURE_DIR)/grpcserver-$(FIXTURE_GO_LOCAL)-stripped
GRPC_FIXTURE_MANIFEST := $(FIXTURE_DIR)/grpc-manifest.txt

fixture_go_env = GOTOOLCHAIN=$(1) GOFLAGS=-mod=mod CGO_ENABLED=0

# $(1): program, $(2): Go version, $(3): suffix, $(4): extra go build flags, $(5): extra
# environment
define fixture_rule
$(FIXTURE_DIR)/$(1)-$(2)$(3): $(call fixture_srcs,$(1))
	@mkdir -p $$(@D)
	$$(if $$(Q),@echo "  GO      $$@")
	$$(Q)cd tests/fixtures/go/$(1) && $(call fixture_go_env,$(2)) $(5) go build $(4) \
		-o $$(abspath $$@) .
	$$(Q)go version -m $$@ > $$@.modinfo
endef

$(foreach v,$(FIXTURE_GO_VERSIONS),\
	$(eval $(call fixture_rule,hello,$(v),,))\
	$(eval $(call fixture_rule,hello,$(v),-stripped,-ldflags=-s\ -w)))
$(eval $(call fixture_rule,hello,$(FIXTURE_GO_LOCAL),-pie,-buildmode=pie))
# With cgo and the system linker, as distributions build Go packages: C start-up code
# comes before runtime.text.
$(eval $(call fixture_rule,hello,$(FIXTURE_GO_LOCAL),-pie-external,\
	-buildmode=pie -ldflags=-linkmode=external,CGO_ENABLED=1))
$(eval $(call fixture_rule,grpcserver,$(FIXTURE_GO_LOCAL),,))
$(eval $(call fixture_rule,grpcserver,$(FIXTURE_GO_LOCAL),-stripped,-ldflags=-s\ -w))

# The Makefile's .SECONDARY: would let a missing fixture stay missing behind an
# up-to-date manifest, so the manifests are rewritten on every run (a few lines), and
# their fixtures made first.
.PHONY: fixtures-always
$(FIXTURE_MANIFEST): $(FIXTURE_BINS) fixtures-always
$(GRPC_FIXTURE_MANIFEST): $(GRPC_FIXTURE_BINS) fixtures-always
$(FIXTURE_MANIFEST) $(GRPC_FIXTURE_MANIFEST):
	$(Q)for f in $(filter-out fixtures-always,$^); do \
		v=$$(head -1 $$f.modinfo | awk '{print $$2}'); \
		case $$f in *-stripped) s=1 ;; *) s=0 ;; esac; \
		echo "$$f $$v $$s"; \
	done > $@

.PHONY: fixtures
fixtures: $(FIXTURE_MANIFEST) $(GRPC_FIXTURE_MANIFEST)

# Unit tests that read the fixtures (order-only: the link line stays the objects).
GO_FIXTURE_TESTS := $(filter build/san/tests/test_go_% build/san/tests/test_probe_% build/san/tests/test_elf_%,$(UNIT_BINS))
$(GO_FIXTURE_TESTS): | $(FIXTURE_MANIFEST) $(GRPC_FIXTURE_MANIFEST)
build/rel/bench/bench_go_binary build/rel/bench/bench_probe_points: | $(FIXTURE_MANIFEST)

# Regenerates agent/go_offsets_table.c and its tables, agent/go_offsets_table_*.c
# (struct offsets per Go version and module version; see tools/offsets-gen/gen.sh).
# go-offsets-table-check fails when the checked-in tables differ from what the
# toolchains give (a changed, added or removed table).
.PHONY: go-offsets-table go-offsets-table-check
go-offsets-table:
	tools/offsets-gen/gen.sh
go-offsets-table-check: go-offsets-table
	@changed=$$(git status --porcelain -- 'agent/go_offsets_table*.c'); \
		if [ -n "$$changed" ]; then echo "$$changed"; git diff -- 'agent/go_offsets_table*.c'; exit 1; fi

# The HTTP service the agent rung traces (tests/fixtures/go/httpsvc: hello, slow,
# status and calling handlers), with two Go toolchains, plain and stripped.
# build/fixtures/httpsvc-manifest.txt lists them as manifest.txt does.
HTTPSVC_GO_VERSIONS  ?= go1.22.12 $(FIXTURE_GO_LOCAL)
HTTPSVC_FIXTURE_BINS := $(foreach v,$(HTTPSVC_GO_VERSIONS),$(FIXTURE_DIR)/httpsvc-$(v) \
	$(FIXTURE_DIR)/httpsvc-$(v)-stripped)
HTTPSVC_MANIFEST     := $(FIXTURE_DIR)/httpsvc-manifest.txt
$(foreach v,$(HTTPSVC_GO_VERSIONS),\
	$(eval $(call fixture_rule,httpsvc,$(v),,))\
	$(eval $(call fixture_rule,httpsvc,$(v),-stripped,-ldflags=-s\ -w)))
$(HTTPSVC_MANIFEST): $(HTTPSVC_FIXTURE_BINS) fixtures-always
	$(Q)for f in $(filter-out fixtures-always,$^); do \
		v=$$(head -1 $$f.modinfo | awk '{print $$2}'); \
		case $$f in *-stripped) s=1 ;; *) s=0 ;; esac; \
		echo "$$f $$v $$s"; \
	done > $@
fixtures: $(HTTPSVC_MANIFEST)
test-bpf: $(HTTPSVC_MANIFEST)

# The probe-cost benchmark's target (tests/fixtures/go/spin), local toolchain.
SPIN_FIXTURE := $(FIXTURE_DIR)/spin-$(FIXTURE_GO_LOCAL)
$(eval $(call fixture_rule,spin,$(FIXTURE_GO_LOCAL),,))
fixtures: $(SPIN_FIXTURE)
build/rel/bench/bench_probe_cost: | $(SPIN_FIXTURE)
build/rel/bench/bench_tracer_overhead: | $(HTTPSVC_MANIFEST)
build/rel/bench/bench_tracer_footprint: | $(HTTPSVC_MANIFEST)

# The demo's application (tests/fixtures/go/shop-frontend, a checkout, calling
# tests/fixtures/go/shop-backend, a price service, over HTTP), local toolchain, for
# images/sample-shop.
SHOP_FIXTURE_BINS := $(FIXTURE_DIR)/shop-frontend-$(FIXTURE_GO_LOCAL) \
	$(FIXTURE_DIR)/shop-backend-$(FIXTURE_GO_LOCAL)
$(eval $(call fixture_rule,shop-frontend,$(FIXTURE_GO_LOCAL),,))
$(eval $(call fixture_rule,shop-backend,$(FIXTURE_GO_LOCAL),,))
fixtures: $(SHOP_FIXTURE_BINS)

# The two-service chain of the client-span tests and benchmark (tests/fixtures/go/chain),
# local toolchain.
CHAIN_FIXTURE := $(FIXTURE_DIR)/chain-$(FIXTURE_GO_LOCAL)
$(eval $(call fixture_rule,chain,$(FIXTURE_GO_LOCAL),,))
fixtures: $(CHAIN_FIXTURE)
test-bpf: $(CHAIN_FIXTURE)
build/rel/bench/bench_client_overhead: | $(CHAIN_FIXTURE)

# The database/sql service of the database client-span tests (tests/fixtures/go/dbsvc,
# modernc.org/sqlite: pure Go, whose go.mod wants Go 1.26), local toolchain.
DBSVC_FIXTURE := $(FIXTURE_DIR)/dbsvc-$(FIXTURE_GO_LOCAL)
$(eval $(call fixture_rule,dbsvc,$(FIXTURE_GO_LOCAL),,))
fixtures: $(DBSVC_FIXTURE)
test-bpf: $(DBSVC_FIXTURE)
# The HTTP service calling gRPC of the gRPC span tests (tests/fixtures/go/grpcweb), local
# toolchain: against the grpc its go.mod pins, and stripped against grpc v1.60.1
# (old.mod), a release the offsets table has no row for, and stripped against grpc
# v1.62.2 (v162.mod), the oldest row: the layout before transport.ServerStream.
GRPCWEB_FIXTURES := $(FIXTURE_DIR)/grpcweb-$(FIXTURE_GO_LOCAL) \
	$(FIXTURE_DIR)/grpcweb-$(FIXTURE_GO_LOCAL)-old $(FIXTURE_DIR)/grpcweb-$(FIXTURE_GO_LOCAL)-v162
$(eval $(call fixture_rule,grpcweb,$(FIXTURE_GO_LOCAL),,))
$(eval $(call fixture_rule,grpcweb,$(FIXTURE_GO_LOCAL),-old,-modfile=old.mod -ldflags=-s\ -w))
$(FIXTURE_DIR)/grpcweb-$(FIXTURE_GO_LOCAL)-old: tests/fixtures/go/grpcweb/old.mod
$(eval $(call fixture_rule,grpcweb,$(FIXTURE_GO_LOCAL),-v162,-modfile=v162.mod -ldflags=-s\ -w))
$(FIXTURE_DIR)/grpcweb-$(FIXTURE_GO_LOCAL)-v162: tests/fixtures/go/grpcweb/v162.mod
fixtures: $(GRPCWEB_FIXTURES)
test-bpf: $(GRPCWEB_FIXTURES) $(GRPC_FIXTURE_BINS)
build/rel/bench/bench_grpc_overhead: | $(GRPCWEB_FIXTURES)
# The HTTP/2 service of the HTTP/2 tests (tests/fixtures/go/h2svc: TLS and h2c on one
# port, and net/http's HTTP/2 client): the local toolchain, Go 1.22 (pre-swiss header
# maps; no h2c) and Go 1.27 (net/http/internal/http2); the local one stripped too.
H2SVC_GO_VERSIONS ?= go1.22.12 $(FIXTURE_GO_LOCAL) go1.27.4
H2SVC_FIXTURE_BINS := $(foreach v,$(H2SVC_GO_VERSIONS),$(FIXTURE_DIR)/h2svc-$(v)) \
	$(FIXTURE_DIR)/h2svc-$(FIXTURE_GO_LOCAL)-stripped
$(foreach v,$(H2SVC_GO_VERSIONS),$(eval $(call fixture_rule,h2svc,$(v),,)))
$(eval $(call fixture_rule,h2svc,$(FIXTURE_GO_LOCAL),-stripped,-ldflags=-s\ -w))
fixtures: $(H2SVC_FIXTURE_BINS)
test-bpf: $(H2SVC_FIXTURE_BINS)
build/rel/bench/bench_h2_probe_cost: | $(H2SVC_FIXTURE_BINS)

# An h2c service on golang.org/x/net/http2 (tests/fixtures/go/h2cxnet: h2c.NewHandler),
# local toolchain, plain and stripped.
H2CXNET_FIXTURE_BINS := $(FIXTURE_DIR)/h2cxnet-$(FIXTURE_GO_LOCAL) \
	$(FIXTURE_DIR)/h2cxnet-$(FIXTURE_GO_LOCAL)-stripped
$(eval $(call fixture_rule,h2cxnet,$(FIXTURE_GO_LOCAL),,))
$(eval $(call fixture_rule,h2cxnet,$(FIXTURE_GO_LOCAL),-stripped,-ldflags=-s\ -w))
fixtures: $(H2CXNET_FIXTURE_BINS)
test-bpf: $(H2CXNET_FIXTURE_BINS)

# The three-service chain of the trace test and benchmark (tests/fixtures/go/chain3: an
# HTTP front calling an HTTP middle calling a gRPC store that queries SQLite; grpc and
# modernc.org/sqlite, whose go.mod wants Go 1.26), local toolchain.
CHAIN3_FIXTURE := $(FIXTURE_DIR)/chain3-$(FIXTURE_GO_LOCAL)
$(eval $(call fixture_rule,chain3,$(FIXTURE_GO_LOCAL),,))
fixtures: $(CHAIN3_FIXTURE)
test-bpf: $(CHAIN3_FIXTURE)
build/rel/bench/bench_chain_overhead: | $(CHAIN3_FIXTURE)
