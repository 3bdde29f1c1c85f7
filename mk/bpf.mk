# BPF programs: bpf/<name>.bpf.c -> build/bpf/<name>.bpf.o -> build/gen/<name>.skel.h
# (libbpf-tools' pattern rules). vmlinux.h comes from the running kernel's BTF, so
# CO-RE relocations are checked against the kernel the agent runs on. The Makefile
# makes every C object depend order-only on $(BPF_GEN).

BPFTOOL    ?= bpftool
BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_OBJS   := $(patsubst bpf/%.bpf.c,build/bpf/%.bpf.o,$(BPF_SRCS))
BPF_GEN    := $(patsubst bpf/%.bpf.c,build/gen/%.skel.h,$(BPF_SRCS))
VMLINUX_H  := build/gen/vmlinux.h
BPF_ARCH   := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -Wall -Werror \
	-I. -Ibuild/gen -mcpu=v3
# The UAPI headers' <asm/...> for programs that include <linux/bpf.h> instead of
# vmlinux.h (bpf/tp_inject.bpf.c: no CO-RE, so loading it parses no kernel BTF).
BPF_CFLAGS += -idirafter /usr/include/$(shell $(CC) -print-multiarch 2>/dev/null)

$(VMLINUX_H):
	@mkdir -p $(@D)
	$(if $(Q),@echo "  BTF     $@")
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

build/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) | $(VMLINUX_H)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  BPF     $<")
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

build/gen/%.skel.h: build/bpf/%.bpf.o
	@mkdir -p $(@D)
	$(if $(Q),@echo "  SKEL    $@")
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

.PHONY: bpf
bpf: $(BPF_GEN)
