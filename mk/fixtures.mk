# Go test fixtures: small Go programs from tests/fixtures/go built with several Go
# toolchains (fetched through the Go module proxy by GOTOOLCHAIN, cached in the
# default GOMODCACHE), each plain, stripped (-s -w) and, with the local toolchain, as
# PIE. build/fixtures/manifest.txt lists them, one per line:
#   <path> <go version> <stripped 0|1>
# and <path>.modinfo keeps `go version -m` of each, for tests to compare against.

FIXTURE_GO_LOCAL    := $(shell go env GOVERSION 2>/dev/null)
FIXTURE_GO_VERSIONS ?= go1.22.12 go1.24.13 $(FIXTURE_GO_LOCAL)
FIXTURE_DIR         := build/fixtures
FIXTURE_SRCS        := $(shell find tests/fixtures/go -name '*.go' -o -name go.mod 2>/dev/null)
FIXTURE_BINS        := $(foreach v,$(FIXTURE_GO_VERSIONS),$(FIXTURE_DIR)/hello-$(v) \
	$(FIXTURE_DIR)/hello-$(v)-stripped) $(FIXTURE_DIR)/hello-$(FIXTURE_GO_LOCAL)-pie
FIXTURE_MANIFEST    := $(FIXTURE_DIR)/manifest.txt

fixture_go_env = GOTOOLCHAIN=$(1) GOFLAGS=-mod=mod CGO_ENABLED=0

# $(1): Go version, $(2): suffix, $(3): extra go build flags
define fixture_rule
$(FIXTURE_DIR)/hello-$(1)$(2): $(FIXTURE_SRCS)
	@mkdir -p $$(@D)
	$$(if $$(Q),@echo "  GO      $$@")
	$$(Q)cd tests/fixtures/go/hello && $(call fixture_go_env,$(1)) go build $(3) \
		-o $$(abspath $$@) .
	$$(Q)go version -m $$@ > $$@.modinfo
endef

$(foreach v,$(FIXTURE_GO_VERSIONS),\
	$(eval $(call fixture_rule,$(v),,))\
	$(eval $(call fixture_rule,$(v),-stripped,-ldflags=-s\ -w)))
$(eval $(call fixture_rule,$(FIXTURE_GO_LOCAL),-pie,-buildmode=pie))

$(FIXTURE_MANIFEST): $(FIXTURE_BINS)
	$(Q)for f in $^; do \
		v=$$(head -1 $$f.modinfo | awk '{print $$2}'); \
		case $$f in *-stripped) s=1 ;; *) s=0 ;; esac; \
		echo "$$f $$v $$s"; \
	done > $@

.PHONY: fixtures
fixtures: $(FIXTURE_MANIFEST)

# Unit tests that read the fixtures (order-only: the link line stays the objects).
GO_FIXTURE_TESTS := $(filter build/san/tests/test_go_% build/san/tests/test_probe_% build/san/tests/test_elf_%,$(UNIT_BINS))
$(GO_FIXTURE_TESTS): | $(FIXTURE_MANIFEST)
build/rel/bench/bench_go_binary: | $(FIXTURE_MANIFEST)

# Regenerates agent/go_offsets_table.c (struct offsets per Go version; see
# tools/offsets-gen/gen.sh). go-offsets-table-check fails when the checked-in table
# differs from what the toolchains give.
.PHONY: go-offsets-table go-offsets-table-check
go-offsets-table:
	tools/offsets-gen/gen.sh
go-offsets-table-check: go-offsets-table
	git diff --exit-code -- agent/go_offsets_table.c
