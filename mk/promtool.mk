# promtool, Prometheus' checker for the metrics exposition, built from its Go module
# through the module proxy into the cache like the other Go tools (mk/deps.mk).
# Prometheus 3.x publishes its Go module as v0.3MM.P for release 3.MM.P; this one builds
# with GOTOOLCHAIN=local Go 1.26.

PROMTOOL_VERSION ?= v0.316.0
PROMTOOL_BIN     := $(CACHE_DIR)/promtool-$(PROMTOOL_VERSION)
PROMTOOL_EXE     := $(PROMTOOL_BIN)/promtool
TOOL_DIRS += $(PROMTOOL_BIN)
TOOL_BINS += $(PROMTOOL_EXE)

$(PROMTOOL_EXE):
	@echo "deps: building promtool $(PROMTOOL_VERSION)"
	OUT=$(PROMTOOL_BIN) tools/build-go-tool.sh \
		github.com/prometheus/prometheus@$(PROMTOOL_VERSION) \
		github.com/prometheus/prometheus/cmd/promtool promtool \
		"-X github.com/prometheus/common/version.Version=$(PROMTOOL_VERSION)"

# Unit tests run without the tools on PATH; the exposition test finds promtool here
# (and skips, saying so, when it has not been built).
test-unit: export PROMTOOL = $(PROMTOOL_EXE)
