# autotrace: one entry point for deps, build, test, bench, fuzz, lint and the demo.
# Sources are found by wildcard: a new module is a new .c file in its folder, and a new
# unit test is tests/unit/test_<name>.c, with no edit here.

.DELETE_ON_ERROR:
.SECONDARY:
.DEFAULT_GOAL := build
SHELL := /bin/bash

V ?= 0
Q := $(if $(filter 1,$(V)),,@)

CC      ?= gcc
CLANG   ?= clang
PKGS    := libcurl jansson openssl yaml-0.1 libevent libevent_openssl libevent_pthreads \
	libelf libdw capstone libbpf zlib
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm

WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-unused-parameter \
	-Wmissing-prototypes -Wstrict-prototypes -Wvla
BASE_CFLAGS = -std=gnu11 -g -D_GNU_SOURCE -I. -Ibuild/gen $(WARN) $(PKG_CFLAGS)

# Variants: release objects in build/rel, sanitized ones (unit tests) in build/san.
REL_CFLAGS = $(BASE_CFLAGS) -O2 -fno-omit-frame-pointer
SAN_FLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=all
SAN_CFLAGS = $(BASE_CFLAGS) -O1 -fno-omit-frame-pointer $(SAN_FLAGS) -DUNITTEST_BUILD

LIB_SRCS      := $(wildcard lib/*/*.c)
AGENT_SRCS    := $(filter-out agent/main.c,$(wildcard agent/*.c))
WEBHOOK_SRCS  := $(filter-out webhook/main.c,$(wildcard webhook/*.c))
OPERATOR_SRCS := $(filter-out operator/main.c,$(wildcard operator/*.c))
MODULE_SRCS   := $(LIB_SRCS) $(AGENT_SRCS) $(WEBHOOK_SRCS) $(OPERATOR_SRCS)
DAEMONS       := $(foreach d,agent webhook operator,$(if $(wildcard $(d)/main.c),$(d)))
BINS          := $(foreach d,$(DAEMONS),bin/autotrace-$(d))

UNIT_SRCS     := $(wildcard tests/unit/test_*.c)
UNIT_BINS     := $(patsubst tests/unit/%.c,build/san/tests/%,$(UNIT_SRCS))
INTEG_SRCS    := $(wildcard tests/integration/itest_*.c)
INTEG_BINS    := $(patsubst tests/integration/%.c,build/rel/tests/%,$(INTEG_SRCS))
AGENT_TEST_SRCS := $(wildcard tests/agent/atest_*.c)
AGENT_TEST_BINS := $(patsubst tests/agent/%.c,build/rel/tests/%,$(AGENT_TEST_SRCS))
FUZZ_SRCS     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS     := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRCS))
BENCH_SRCS    := $(wildcard bench/bench_*.c)
BENCH_BINS    := $(patsubst bench/%.c,build/rel/bench/%,$(BENCH_SRCS))
TESTSUPPORT   := $(wildcard tests/support/*.c)

# Each mk/*.mk adds one concern: deps and tools, tests, BPF objects, ...
include $(sort $(wildcard mk/*.mk))

# After every mk file has added its tools.
deps-tools: $(TOOL_BINS)

.PHONY: build all
build all: $(BINS)

build/rel/%.o: %.c | $(BPF_GEN)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(REL_CFLAGS) -MMD -MP -c $< -o $@

build/san/%.o: %.c | $(BPF_GEN)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC san  $<")
	$(Q)$(CC) $(SAN_CFLAGS) -MMD -MP -c $< -o $@

build/rel/libautotrace.a: $(MODULE_SRCS:%.c=build/rel/%.o)
	$(Q)rm -f $@ && ar rcs $@ $^
build/san/libautotrace.a: $(MODULE_SRCS:%.c=build/san/%.o) $(TESTSUPPORT:%.c=build/san/%.o)
	$(Q)rm -f $@ && ar rcs $@ $^
build/rel/libtestsupport.a: $(TESTSUPPORT:%.c=build/rel/%.o)
	$(Q)rm -f $@ && ar rcs $@ $^

bin/autotrace-%: build/rel/%/main.o build/rel/libautotrace.a
	@mkdir -p $(@D)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) -o $@ $^ $(PKG_LIBS)

build/san/tests/%: build/san/tests/unit/%.o build/san/libautotrace.a
	@mkdir -p $(@D)
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

build/rel/tests/%: build/rel/tests/integration/%.o build/rel/libtestsupport.a build/rel/libautotrace.a
	@mkdir -p $(@D)
	$(Q)$(CC) -o $@ $^ $(PKG_LIBS) -lcmocka

build/rel/tests/atest_%: build/rel/tests/agent/atest_%.o build/rel/libtestsupport.a build/rel/libautotrace.a
	@mkdir -p $(@D)
	$(Q)$(CC) -o $@ $^ $(PKG_LIBS) -lcmocka

build/rel/bench/%: build/rel/bench/%.o build/rel/libtestsupport.a build/rel/libautotrace.a
	@mkdir -p $(@D)
	$(Q)$(CC) -o $@ $^ $(PKG_LIBS)

# Fuzz targets: clang libFuzzer with ASan/UBSan, each linked with the modules it needs
# compiled by clang (build/fuzz/obj).
FUZZ_CFLAGS = -std=gnu11 -g -O1 -D_GNU_SOURCE -DFUZZING_BUILD -I. -Ibuild/gen $(PKG_CFLAGS) \
	-fsanitize=fuzzer-no-link,address,undefined
build/fuzz/obj/%.o: %.c | $(BPF_GEN)
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@
build/fuzz/libautotrace.a: $(MODULE_SRCS:%.c=build/fuzz/obj/%.o)
	$(Q)rm -f $@ && ar rcs $@ $^
build/fuzz/fuzz_%: build/fuzz/obj/tests/fuzz/fuzz_%.o build/fuzz/libautotrace.a
	$(Q)$(CLANG) -fsanitize=fuzzer,address,undefined -o $@ $^ $(PKG_LIBS)
# Targets that run a test support model of a BPF program's logic.
build/fuzz/fuzz_h2_frame_walk: build/fuzz/obj/tests/support/h2_write_sim.o

-include $(shell find build -name '*.d' 2>/dev/null)


.PHONY: clean
clean:
	rm -rf build bin
