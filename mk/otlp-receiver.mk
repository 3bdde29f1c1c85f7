# The OTLP/HTTP receiver the agent tests and benchmarks export to (tools/otlp-receiver,
# Go, built on the Collector's pdata module). Its source and pinned go.mod/go.sum live
# in the repo; the binary is cached outside it, keyed by a hash of those files, so an
# edit rebuilds it and an unchanged tree only checks the path.

OTLP_RECEIVER_SRCS := $(sort $(wildcard tools/otlp-receiver/*.go)) \
	tools/otlp-receiver/go.mod tools/otlp-receiver/go.sum
OTLP_RECEIVER_HASH := $(shell cat $(OTLP_RECEIVER_SRCS) 2>/dev/null | cksum | cut -d' ' -f1)
OTLP_RECEIVER_DIR  := $(CACHE_DIR)/otlp-receiver-$(OTLP_RECEIVER_HASH)
OTLP_RECEIVER_BIN  := $(OTLP_RECEIVER_DIR)/otlp-receiver
TOOL_DIRS += $(OTLP_RECEIVER_DIR)
TOOL_BINS += $(OTLP_RECEIVER_BIN)

$(OTLP_RECEIVER_BIN): | $(OTLP_RECEIVER_SRCS)
	@mkdir -p $(@D)
	@echo "deps: building otlp-receiver"
	$(Q)cd tools/otlp-receiver && GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly \
		go build -trimpath -ldflags "-s -w" -o $(abspath $@).tmp . && mv $(abspath $@).tmp $(abspath $@)

.PHONY: otlp-receiver
otlp-receiver: $(OTLP_RECEIVER_BIN)

# The rungs that export to it build it even when run on their own.
test-bpf bench: $(OTLP_RECEIVER_BIN)
