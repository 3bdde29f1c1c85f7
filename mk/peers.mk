# The peer bench/peers.bench.sh runs beside autotrace-agent: OpenTelemetry Go automatic
# instrumentation (tools/build-otel-go-auto.sh), built from its Go module and cached
# outside the repo, keyed by version. Only `make bench` builds it (not `deps`, so not
# `make test`); a build that fails leaves its log, and the benchmark says the peer is
# missing and still prints autotrace's figures.

OTEL_GO_AUTO_VERSION ?= v0.24.0
OTEL_GO_AUTO_DIR     := $(CACHE_DIR)/otel-go-auto-$(OTEL_GO_AUTO_VERSION)
OTEL_GO_AUTO_BIN     := $(OTEL_GO_AUTO_DIR)/otel-go-instrumentation
# On PATH for the benchmarks (KIND_ENV), without joining TOOL_BINS.
TOOL_DIRS += $(OTEL_GO_AUTO_DIR)

$(OTEL_GO_AUTO_BIN):
	@mkdir -p $(@D)
	@echo "deps: building otel-go-instrumentation $(OTEL_GO_AUTO_VERSION) (cold: several minutes)"
	$(Q)OUT=$(@D) CLANG=$(CLANG) nice tools/build-otel-go-auto.sh $(OTEL_GO_AUTO_VERSION) \
		> $(@D).log 2>&1 || { tail -20 $(@D).log; echo "deps: otel-go-instrumentation not built (log: $(@D).log)"; }

.PHONY: otel-go-auto
otel-go-auto: $(OTEL_GO_AUTO_BIN)

# The floor arm's helper: two counting probes held at the server probes' instructions.
PEERS_FLOOR_BIN := build/rel/bench/hold_empty_probes

bench: $(OTEL_GO_AUTO_BIN) $(PEERS_FLOOR_BIN) $(HTTPSVC_MANIFEST)

# That benchmark alone.
.PHONY: bench-peers
bench-peers: build $(OTEL_GO_AUTO_BIN) $(PEERS_FLOOR_BIN) $(HTTPSVC_MANIFEST) $(OTLP_RECEIVER_BIN)
	@PATH="$(TOOLS_PATH):$$PATH" OTEL_GO_AUTO=$(OTEL_GO_AUTO_BIN) bench/peers.bench.sh
