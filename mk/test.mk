# The test ladder. Every rung writes TAP files into RESULTS_DIR; `make test` runs all
# rungs, keeps going past a failing one, and ends with "N passed, N failed".

RESULTS_DIR ?= build/results
export RESULTS_DIR
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 20
RUN_TAP := tests/run-tap.sh
# A rung that cannot even build or run counts as a failure, never as silence.
RUNGS := test-unit test-integration test-bpf test-images test-e2e test-fuzz-smoke

.PHONY: test test-unit test-integration test-bpf test-e2e test-fuzz-smoke fuzz
.PHONY: cluster-up cluster-down bench bench-kind lint

# Stages before the rungs, timed like them: on a fresh machine they are most of the
# run (Debian packages, the Go-built tools, the images, the kind node image).
STAGES := deps build images kind-node-image

test:
	@rm -rf $(RESULTS_DIR) && mkdir -p $(RESULTS_DIR)
	@for stage in $(STAGES); do t=$$SECONDS; \
		$(MAKE) --no-print-directory $$stage || \
			echo "not ok - $$stage: make $$stage failed (see above)" | tee $(RESULTS_DIR)/stage-$$stage.tap; \
		echo "$$stage $$((SECONDS - t))" >> $(RESULTS_DIR)/stage-times; \
	done
	@for rung in $(RUNGS); do t=$$SECONDS; \
		$(MAKE) --no-print-directory $$rung || \
			echo "not ok - $$rung: make $$rung failed (build error or runner crash, see above)" \
				| tee $(RESULTS_DIR)/rung-$$rung.tap; \
		echo "$$rung $$((SECONDS - t))" >> $(RESULTS_DIR)/stage-times; \
	done
	@echo "stage times (s): $$(awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $$1, $$2 }' $(RESULTS_DIR)/stage-times)"
	@tests/tap-summary.sh $(RESULTS_DIR)

# The cmocka programs, then the shell tests of the scripts (tests/unit/*.t.sh).
UNIT_SCRIPTS := $(wildcard tests/unit/*.t.sh)
test-unit: $(UNIT_BINS)
	@for t in $(UNIT_BINS) $(UNIT_SCRIPTS); do $(RUN_TAP) unit-$$(basename $$t .t.sh) 300 $$t; done

# The node agent's test traces a Go fixture and exports to the OTLP receiver.
test-integration: $(INTEG_BINS) build $(OTLP_RECEIVER_BIN) $(HTTPSVC_MANIFEST)
	@PATH="$(TOOLS_PATH):$$PATH" INTEG_BINS="$(INTEG_BINS)" tests/integration/run.sh

# The agent rung: real kernel, real Go programs, a real OTLP receiver.
# The benchmarks are built here too (they use the agent's API): one that no longer
# compiles fails the rung rather than the next `make bench`.
test-bpf: $(AGENT_TEST_BINS) $(BENCH_BINS) build
	@if [ -x tests/agent/run.sh ]; then PATH="$(TOOLS_PATH):$$PATH" \
		AGENT_TEST_BINS="$(AGENT_TEST_BINS)" tests/agent/run.sh; fi

# The e2e rung: a kind cluster on this machine (mk/kind.mk), or E2E_KUBECONFIG's.
test-e2e: deps $(if $(E2E_KUBECONFIG),,$(KIND_NODE_STAMP) images)
	@$(KIND_ENV) IMAGE_ARCHIVES="$(IMAGE_ARCHIVES)" IMAGE_REGISTRY=$(IMAGE_REGISTRY) \
		IMAGE_TAG=$(IMAGE_TAG) e2e/run.sh

test-fuzz-smoke: $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do n=$$(basename $$f); mkdir -p build/corpus/$$n; \
		$(RUN_TAP) fuzz-$$n $$(( $(FUZZ_SMOKE_SECONDS) + 60 )) tests/fuzz/run-one.sh $$f $(FUZZ_SMOKE_SECONDS); done

fuzz: $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do tests/fuzz/run-one.sh $$f $(FUZZ_SECONDS); done

cluster-up: deps-tools
	@PATH="$(TOOLS_PATH):$$PATH" e2e/cluster/up.sh

cluster-down:
	@e2e/cluster/down.sh

# The kind settings go along for bench/kind_pods.bench.sh (real pods on a kind cluster).
bench: deps build $(BENCH_BINS) $(KIND_NODE_STAMP) images
	@$(KIND_ENV) IMAGE_ARCHIVES="$(IMAGE_ARCHIVES)" BENCH_BINS="$(BENCH_BINS)" bench/run.sh

# That benchmark alone.
bench-kind: deps $(KIND_NODE_STAMP) images
	@$(KIND_ENV) IMAGE_ARCHIVES="$(IMAGE_ARCHIVES)" bench/kind_pods.bench.sh

lint: deps-apt
	@PATH="$(TOOLS_PATH):$$PATH" tools/lint.sh
