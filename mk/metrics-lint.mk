# The exposition checker the tests run on the daemons' /metrics pages
# (tools/metrics-lint, Go: Prometheus' text parser and client_golang's promlint, the two
# halves of `promtool check metrics`, with promtool's command line and exit codes).
# Its source and pinned go.mod/go.sum live in the repo; the binary is cached outside
# it, keyed by a hash of those files, so an edit rebuilds it and an unchanged tree only
# checks the path.

METRICS_LINT_SRCS := $(sort $(wildcard tools/metrics-lint/*.go)) \
	tools/metrics-lint/go.mod tools/metrics-lint/go.sum
METRICS_LINT_HASH := $(shell cat $(METRICS_LINT_SRCS) 2>/dev/null | cksum | cut -d' ' -f1)
METRICS_LINT_DIR  := $(CACHE_DIR)/metrics-lint-$(METRICS_LINT_HASH)
METRICS_LINT_BIN  := $(METRICS_LINT_DIR)/metrics-lint
TOOL_DIRS += $(METRICS_LINT_DIR)
TOOL_BINS += $(METRICS_LINT_BIN)

$(METRICS_LINT_BIN): | $(METRICS_LINT_SRCS)
	@mkdir -p $(@D)
	@echo "deps: building metrics-lint"
	$(Q)cd tools/metrics-lint && GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly \
		go build -trimpath -ldflags "-s -w" -o $(abspath $@).tmp . && mv $(abspath $@).tmp $(abspath $@)

.PHONY: metrics-lint
metrics-lint: $(METRICS_LINT_BIN)

# The rungs whose tests lint an exposition build it even when run on their own, and
# name it in METRICS_LINT (a real promtool works there too).
test-unit test-integration test-bpf: $(METRICS_LINT_BIN)
test-unit test-integration test-bpf: export METRICS_LINT = $(METRICS_LINT_BIN)
