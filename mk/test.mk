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
.PHONY: cluster-up cluster-down bench lint

test: deps
	@rm -rf $(RESULTS_DIR) && mkdir -p $(RESULTS_DIR)
	@for rung in $(RUNGS); do \
		$(MAKE) --no-print-directory $$rung || \
			echo "not ok - $$rung: make $$rung failed (build error or runner crash, see above)" \
				| tee $(RESULTS_DIR)/rung-$$rung.tap; \
	done
	@tests/tap-summary.sh $(RESULTS_DIR)

test-unit: $(UNIT_BINS)
	@for t in $(UNIT_BINS); do $(RUN_TAP) unit-$$(basename $$t) 300 $$t; done

test-integration: $(INTEG_BINS) build
	@PATH="$(TOOLS_PATH):$$PATH" INTEG_BINS="$(INTEG_BINS)" tests/integration/run.sh

# The agent rung: real kernel, real Go programs, a real OTLP receiver.
test-bpf: $(AGENT_TEST_BINS) build
	@if [ -x tests/agent/run.sh ]; then PATH="$(TOOLS_PATH):$$PATH" \
		AGENT_TEST_BINS="$(AGENT_TEST_BINS)" tests/agent/run.sh; fi

test-e2e:
	@if [ -x e2e/run.sh ]; then PATH="$(TOOLS_PATH):$$PATH" e2e/run.sh; fi

test-fuzz-smoke: $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do n=$$(basename $$f); mkdir -p build/corpus/$$n; \
		$(RUN_TAP) fuzz-$$n $$(( $(FUZZ_SMOKE_SECONDS) + 60 )) tests/fuzz/run-one.sh $$f $(FUZZ_SMOKE_SECONDS); done

fuzz: $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do tests/fuzz/run-one.sh $$f $(FUZZ_SECONDS); done

cluster-up: deps-tools
	@PATH="$(TOOLS_PATH):$$PATH" e2e/cluster/up.sh

cluster-down:
	@e2e/cluster/down.sh

bench: deps build $(BENCH_BINS)
	@PATH="$(TOOLS_PATH):$$PATH" BENCH_BINS="$(BENCH_BINS)" bench/run.sh

lint: deps-apt
	@PATH="$(TOOLS_PATH):$$PATH" tools/lint.sh
