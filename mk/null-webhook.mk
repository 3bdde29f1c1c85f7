# A webhook that allows everything at once (tools/null-webhook, Go standard library):
# bench_webhook_apiserver registers it as the floor of what the API server's webhook
# calls cost on this machine. Cached outside the repo, keyed by a hash of its source.

NULL_WEBHOOK_SRCS := $(sort $(wildcard tools/null-webhook/*.go)) tools/null-webhook/go.mod
NULL_WEBHOOK_HASH := $(shell cat $(NULL_WEBHOOK_SRCS) 2>/dev/null | cksum | cut -d' ' -f1)
NULL_WEBHOOK_DIR  := $(CACHE_DIR)/null-webhook-$(NULL_WEBHOOK_HASH)
NULL_WEBHOOK_BIN  := $(NULL_WEBHOOK_DIR)/null-webhook
TOOL_DIRS += $(NULL_WEBHOOK_DIR)
TOOL_BINS += $(NULL_WEBHOOK_BIN)

$(NULL_WEBHOOK_BIN): | $(NULL_WEBHOOK_SRCS)
	@mkdir -p $(@D)
	@echo "deps: building null-webhook"
	$(Q)cd tools/null-webhook && GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly \
		go build -trimpath -ldflags "-s -w" -o $(abspath $@).tmp . && mv $(abspath $@).tmp $(abspath $@)

.PHONY: null-webhook
null-webhook: $(NULL_WEBHOOK_BIN)

bench: $(NULL_WEBHOOK_BIN)
