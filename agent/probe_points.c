/* Probe placement with capstone; see probe_points.h. */
#include "agent/probe_points.h"

#include <capstone/capstone.h>
#include <dlfcn.h>
#include <errno.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log/log.h"

/* The prologue is a handful of instructions: look no further for the stack check. */
#define PROLOGUE_MAX_BYTES 64
#define PROLOGUE_MAX_INSNS 8
/* g.stackguard0, after g.stack {lo, hi}: the same in every Go release since 1.17. */
#define G_STACKGUARD0 0x10

/* capstone is loaded with the first disassembler and unloaded with the last (the
 * loader counts): the agent disassembles a few functions of each new binary, and the
 * library, once relocated, keeps ~5 MB of a daemon's resident memory (its relocation
 * tables read and its pointer tables written at load) for as long as it is mapped. */
#define CAPSTONE_SONAME_(major) "libcapstone.so." #major
#define CAPSTONE_SONAME(major) CAPSTONE_SONAME_(major)

struct capstone_api {
	__typeof__(cs_open) *open;
	__typeof__(cs_option) *option;
	__typeof__(cs_malloc) *malloc;
	__typeof__(cs_free) *free;
	__typeof__(cs_close) *close;
	__typeof__(cs_disasm_iter) *disasm_iter;
};

struct probe_disasm {
	void *lib; /* dlopen handle */
	struct capstone_api cs_api;
	csh cs;
	cs_insn *insn;
};

static int capstone_load(void **ret_lib, struct capstone_api *ret_api)
{
	struct capstone_api api;
	void *lib = dlopen(CAPSTONE_SONAME(CS_API_MAJOR), RTLD_NOW | RTLD_LOCAL);

	if (!lib)
		lib = dlopen("libcapstone.so", RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		log_debug("probe_points", "capstone: %s", dlerror());
		return -ENOTSUP;
	}
	api.open = (__typeof__(api.open))dlsym(lib, "cs_open");
	api.option = (__typeof__(api.option))dlsym(lib, "cs_option");
	api.malloc = (__typeof__(api.malloc))dlsym(lib, "cs_malloc");
	api.free = (__typeof__(api.free))dlsym(lib, "cs_free");
	api.close = (__typeof__(api.close))dlsym(lib, "cs_close");
	api.disasm_iter = (__typeof__(api.disasm_iter))dlsym(lib, "cs_disasm_iter");
	if (!api.open || !api.option || !api.malloc || !api.free || !api.close ||
	    !api.disasm_iter) {
		dlclose(lib);
		return -ENOTSUP;
	}
	*ret_lib = lib;
	*ret_api = api;
	return 0;
}

int probe_disasm_new(struct probe_disasm **ret_disasm)
{
	struct probe_disasm *d = calloc(1, sizeof(*d));
	int r;

	if (!d)
		return -ENOMEM;
	r = capstone_load(&d->lib, &d->cs_api);
	if (r)
		goto fail;
	if (d->cs_api.open(CS_ARCH_X86, CS_MODE_64, &d->cs) != CS_ERR_OK) {
		r = -ENOTSUP;
		goto fail;
	}
	d->cs_api.option(d->cs, CS_OPT_DETAIL, CS_OPT_ON);
	d->insn = d->cs_api.malloc(d->cs);
	if (!d->insn) {
		r = -ENOMEM;
		goto fail;
	}
	*ret_disasm = d;
	return 0;
fail:
	probe_disasm_free(d);
	return r;
}

struct probe_disasm *probe_disasm_free(struct probe_disasm *disasm)
{
	if (!disasm)
		return NULL;
	if (disasm->insn)
		disasm->cs_api.free(disasm->insn, 1);
	if (disasm->cs)
		disasm->cs_api.close(&disasm->cs);
	if (disasm->lib)
		dlclose(disasm->lib);
	free(disasm);
	return NULL;
}

const char *probe_kind_name(enum probe_kind kind)
{
	switch (kind) {
	case PROBE_AT_STACK_CHECK_JUMP:
		return "stack-check-jump";
	case PROBE_AT_SYMBOL:
		return "symbol";
	case PROBE_AFTER_CALL:
		return "after-call";
	case PROBE_ERROR_BRANCH:
		return "error-branch";
	default:
		return "ret";
	}
}

const char *insn_cost_name(enum insn_cost cost)
{
	return cost == INSN_EMULATED ? "emulated" : "single-stepped";
}

/* The encodings the kernel emulates at a uprobe rather than single-stepping them
 * (arch/x86/kernel/uprobes.c): relative call, jmp and jcc unless an operand-size prefix
 * (0x66) shortens them (branch_setup_xol_ops); push of a 64-bit register, with REX.B
 * for r8-r15 only (push_setup_xol_ops); nops, whatever their prefixes. */
static int is_legacy_prefix(uint8_t b)
{
	return b == 0x66 || b == 0x67 || b == 0xf0 || b == 0xf2 || b == 0xf3 || b == 0x2e ||
	       b == 0x36 || b == 0x3e || b == 0x26 || b == 0x64 || b == 0x65;
}

static enum insn_cost cost_of_encoding(const uint8_t *b, size_t n)
{
	size_t i = 0;
	int opsize = 0;
	uint8_t op;

	if (n == 1 && b[0] >= 0x50 && b[0] <= 0x57)
		return INSN_EMULATED;
	if (n == 2 && b[0] == 0x41 && b[1] >= 0x50 && b[1] <= 0x57)
		return INSN_EMULATED;
	while (i < n && is_legacy_prefix(b[i]))
		opsize |= b[i++] == 0x66;
	if (i < n && (b[i] & 0xf0) == 0x40) /* REX */
		i++;
	if (i >= n)
		return INSN_SINGLE_STEPPED;
	op = b[i];
	if (op == 0x90 || (op == 0x0f && i + 1 < n && b[i + 1] == 0x1f))
		return INSN_EMULATED;
	if (opsize)
		return INSN_SINGLE_STEPPED;
	if (op == 0xe8 || op == 0xe9 || op == 0xeb || (op >= 0x70 && op <= 0x7f))
		return INSN_EMULATED;
	if (op == 0x0f && i + 1 < n && b[i + 1] >= 0x80 && b[i + 1] <= 0x8f)
		return INSN_EMULATED;
	return INSN_SINGLE_STEPPED;
}

static int decode_one(struct probe_disasm *d, const uint8_t **code, size_t *len, uint64_t *addr)
{
	if (!d->cs_api.disasm_iter(d->cs, code, len, addr, d->insn))
		return -EINVAL;
	return 0;
}

int insn_classify(struct probe_disasm *disasm, const uint8_t *code, size_t len, uint64_t addr,
		  enum insn_cost *ret_cost, size_t *ret_insn_len)
{
	const uint8_t *p = code;
	size_t n = len;
	int r = decode_one(disasm, &p, &n, &addr);

	if (r < 0)
		return r;
	*ret_cost = cost_of_encoding(code, disasm->insn->size);
	*ret_insn_len = disasm->insn->size;
	return 0;
}

/* `cmp REG, [r14 + 0x10]`: the goroutine's stack bound check. */
static int is_stack_check(const cs_insn *insn)
{
	const cs_x86 *x = &insn->detail->x86;

	return insn->id == X86_INS_CMP && x->op_count == 2 && x->operands[0].type == X86_OP_REG &&
	       x->operands[1].type == X86_OP_MEM && x->operands[1].mem.base == X86_REG_R14 &&
	       x->operands[1].mem.index == X86_REG_INVALID &&
	       x->operands[1].mem.disp == G_STACKGUARD0;
}

/* Instructions a Go prologue runs before its stack check: they compute the frame
 * bound in r12 (big frames), or load g into r14 from TLS (assembly functions of the
 * stack-based ABI0), and leave the argument registers alone. */
static int is_frame_bound_setup(const cs_insn *insn)
{
	const cs_x86 *x = &insn->detail->x86;

	if (insn->id == X86_INS_JB || insn->id == X86_INS_JBE)
		return 1;
	if (insn->id == X86_INS_MOV && x->op_count == 2 && x->operands[0].type == X86_OP_REG &&
	    x->operands[0].reg == X86_REG_R14 && x->operands[1].type == X86_OP_MEM &&
	    x->operands[1].mem.segment == X86_REG_FS)
		return 1;
	return (insn->id == X86_INS_LEA || insn->id == X86_INS_MOV || insn->id == X86_INS_SUB) &&
	       x->op_count >= 1 && x->operands[0].type == X86_OP_REG &&
	       x->operands[0].reg == X86_REG_R12;
}

static int make_point(struct elf_file *file, uint64_t vaddr, const uint8_t *bytes, size_t len,
		      enum probe_kind kind, struct probe_point *ret_point)
{
	uint64_t off;
	int r = elf_file_vaddr_to_offset(file, vaddr, &off);

	if (r < 0)
		return r;
	*ret_point = (struct probe_point){
		.vaddr = vaddr,
		.file_offset = off,
		.kind = kind,
		.cost = cost_of_encoding(bytes, len),
		.insn_len = (uint8_t)len,
	};
	return 0;
}

static int check_machine(struct elf_file *file)
{
	GElf_Ehdr ehdr;

	if (!gelf_getehdr(elf_file_elf(file), &ehdr) || ehdr.e_machine != EM_X86_64)
		return -ENOEXEC;
	return 0;
}

int probe_entry_point(struct probe_disasm *disasm, struct elf_file *file,
		      const struct go_func *fn, struct probe_point *ret_point)
{
	uint8_t code[PROLOGUE_MAX_BYTES];
	size_t len = fn->size < sizeof(code) ? fn->size : sizeof(code), n = len, i;
	const uint8_t *p = code;
	uint64_t addr = fn->addr;
	int r, after_check = 0;

	r = check_machine(file);
	if (r < 0)
		return r;
	if (len == 0)
		return -EINVAL;
	r = elf_file_read_vaddr(file, fn->addr, code, len);
	if (r < 0)
		return r;
	for (i = 0; i < PROLOGUE_MAX_INSNS && n > 0; i++) {
		uint64_t at = addr;
		const uint8_t *bytes = p;

		if (decode_one(disasm, &p, &n, &addr) < 0)
			break;
		if (after_check && disasm->insn->id == X86_INS_JBE)
			return make_point(file, at, bytes, disasm->insn->size,
					  PROBE_AT_STACK_CHECK_JUMP, ret_point);
		if (after_check)
			break;
		if (is_stack_check(disasm->insn))
			after_check = 1;
		else if (!is_frame_bound_setup(disasm->insn))
			break;
	}
	/* No stack check (a NOSPLIT function): the symbol itself. */
	p = code;
	n = len;
	addr = fn->addr;
	if (decode_one(disasm, &p, &n, &addr) < 0)
		return -EINVAL;
	return make_point(file, fn->addr, code, disasm->insn->size, PROBE_AT_SYMBOL, ret_point);
}

int probe_ret_points(struct probe_disasm *disasm, struct elf_file *file,
		     const struct go_func *fn, struct probe_point *points, size_t cap,
		     size_t *ret_count)
{
	uint8_t *code = NULL;
	const uint8_t *p;
	uint64_t addr = fn->addr;
	size_t n = fn->size, count = 0;
	int r;

	r = check_machine(file);
	if (r < 0)
		return r;
	if (fn->size == 0)
		return -EINVAL;
	if (fn->size > PROBE_MAX_FUNC_SIZE)
		return -EFBIG;
	code = malloc(fn->size);
	if (!code)
		return -ENOMEM;
	r = elf_file_read_vaddr(file, fn->addr, code, fn->size);
	if (r < 0)
		goto cleanup;
	p = code;
	while (n > 0) {
		uint64_t at = addr;
		const uint8_t *bytes = p;

		if (decode_one(disasm, &p, &n, &addr) < 0) {
			/* Go pads between functions with int3; anything else is not code we
			 * can trust to place probes in. */
			r = *bytes == 0xcc ? 0 : -EINVAL;
			if (r < 0)
				goto cleanup;
			p++;
			n--;
			addr++;
			continue;
		}
		if (disasm->insn->id != X86_INS_RET)
			continue;
		if (count < cap) {
			r = make_point(file, at, bytes, disasm->insn->size, PROBE_AT_RET,
				       &points[count]);
			if (r < 0)
				goto cleanup;
		}
		count++;
	}
	if (count > cap) {
		r = -ENOSPC;
		goto cleanup;
	}
	*ret_count = count;
	r = 0;
cleanup:
	free(code);
	return r;
}

static int is_call_to(const cs_insn *insn, uint64_t target)
{
	const cs_x86 *x = &insn->detail->x86;

	return insn->id == X86_INS_CALL && x->op_count == 1 && x->operands[0].type == X86_OP_IMM &&
	       (uint64_t)x->operands[0].imm == target;
}

static int is_test_rbx(const cs_insn *insn)
{
	const cs_x86 *x = &insn->detail->x86;

	return insn->id == X86_INS_TEST && x->op_count == 2 && x->operands[0].type == X86_OP_REG &&
	       x->operands[0].reg == X86_REG_RBX && x->operands[1].type == X86_OP_REG &&
	       x->operands[1].reg == X86_REG_RBX;
}

/* The point at vaddr inside code (which starts at base). */
static int point_in(struct probe_disasm *d, struct elf_file *file, const uint8_t *code,
		    size_t size, uint64_t base, uint64_t vaddr, enum probe_kind kind,
		    struct probe_point *ret_point)
{
	const uint8_t *p;
	size_t n;
	uint64_t addr = vaddr;

	if (vaddr < base || vaddr >= base + size)
		return -EINVAL;
	p = code + (vaddr - base);
	n = size - (size_t)(vaddr - base);
	if (decode_one(d, &p, &n, &addr) < 0)
		return -EINVAL;
	return make_point(file, vaddr, code + (vaddr - base), d->insn->size, kind, ret_point);
}

/* From the instruction at vaddr (after the call): past nops, `test rbx, rbx` and a
 * jne or je; the error branch's first instruction into ret_point. */
static int error_branch(struct probe_disasm *d, struct elf_file *file, const uint8_t *code,
			size_t size, uint64_t base, uint64_t vaddr, struct probe_point *ret_point)
{
	const uint8_t *p = code + (vaddr - base);
	size_t n = size - (size_t)(vaddr - base);
	uint64_t addr = vaddr;
	int tested = 0;

	for (int i = 0; i < PROLOGUE_MAX_INSNS && n > 0; i++) {
		if (decode_one(d, &p, &n, &addr) < 0)
			return -EINVAL;
		if (d->insn->id == X86_INS_NOP)
			continue;
		if (!tested && is_test_rbx(d->insn)) {
			tested = 1;
			continue;
		}
		if (tested && (d->insn->id == X86_INS_JNE || d->insn->id == X86_INS_JE)) {
			const cs_x86 *x = &d->insn->detail->x86;
			uint64_t to = d->insn->id == X86_INS_JNE ? (uint64_t)x->operands[0].imm : addr;

			return point_in(d, file, code, size, base, to, PROBE_ERROR_BRANCH, ret_point);
		}
		return -ENOENT;
	}
	return -ENOENT;
}

int probe_call_points(struct probe_disasm *disasm, struct elf_file *file,
		      const struct go_func *caller, uint64_t callee_addr,
		      struct probe_point *ret_after, struct probe_point *ret_error,
		      int *ret_error_status)
{
	uint8_t *code = NULL;
	const uint8_t *p;
	uint64_t addr = caller->addr;
	size_t n = caller->size;
	struct probe_point after, err;
	int r, er = -ENOENT;

	r = check_machine(file);
	if (r < 0)
		return r;
	if (caller->size == 0)
		return -EINVAL;
	if (caller->size > PROBE_MAX_FUNC_SIZE)
		return -EFBIG;
	code = malloc(caller->size);
	if (!code)
		return -ENOMEM;
	r = elf_file_read_vaddr(file, caller->addr, code, caller->size);
	if (r < 0)
		goto cleanup;
	p = code;
	r = -ENOENT;
	while (n > 0) {
		if (decode_one(disasm, &p, &n, &addr) < 0) {
			p++;
			n--;
			addr++;
			continue;
		}
		if (!is_call_to(disasm->insn, callee_addr))
			continue;
		/* addr is now the return address. */
		r = point_in(disasm, file, code, caller->size, caller->addr, addr, PROBE_AFTER_CALL,
			     &after);
		if (r < 0)
			goto cleanup;
		if (ret_error)
			er = error_branch(disasm, file, code, caller->size, caller->addr, addr, &err);
		break;
	}
	if (r < 0)
		goto cleanup;
	*ret_after = after;
	if (ret_error && er == 0)
		*ret_error = err;
	if (ret_error_status)
		*ret_error_status = er;
cleanup:
	free(code);
	return r;
}

int probe_joining_call_point(struct probe_disasm *disasm, struct elf_file *file,
			     const struct go_func *caller, uint64_t callee_addr,
			     struct probe_point *ret_point)
{
	uint8_t *code = NULL;
	const uint8_t *p;
	uint64_t addr, join = 0, after_indirect = 0;
	size_t n;
	int r;

	r = check_machine(file);
	if (r < 0)
		return r;
	if (caller->size == 0)
		return -EINVAL;
	if (caller->size > PROBE_MAX_FUNC_SIZE)
		return -EFBIG;
	code = malloc(caller->size);
	if (!code)
		return -ENOMEM;
	r = elf_file_read_vaddr(file, caller->addr, code, caller->size);
	if (r < 0)
		goto cleanup;
	/* The join: the first instruction after the direct call's return point and the
	 * nops there. */
	p = code;
	n = caller->size;
	addr = caller->addr;
	while (n > 0 && !join) {
		if (decode_one(disasm, &p, &n, &addr) < 0) {
			p++;
			n--;
			addr++;
			continue;
		}
		if (!is_call_to(disasm->insn, callee_addr))
			continue;
		while (n > 0 && decode_one(disasm, &p, &n, &addr) == 0) {
			if (disasm->insn->id != X86_INS_NOP) {
				join = disasm->insn->address;
				break;
			}
		}
	}
	r = -ENOENT;
	if (!join)
		goto cleanup;
	/* `call reg` then `jmp join`. */
	p = code;
	n = caller->size;
	addr = caller->addr;
	while (n > 0) {
		const cs_x86 *x;

		if (decode_one(disasm, &p, &n, &addr) < 0) {
			p++;
			n--;
			addr++;
			after_indirect = 0;
			continue;
		}
		x = &disasm->insn->detail->x86;
		if (after_indirect == disasm->insn->address && disasm->insn->id == X86_INS_JMP &&
		    x->op_count == 1 && x->operands[0].type == X86_OP_IMM &&
		    (uint64_t)x->operands[0].imm == join) {
			r = point_in(disasm, file, code, caller->size, caller->addr,
				     disasm->insn->address, PROBE_AFTER_CALL, ret_point);
			break;
		}
		after_indirect = disasm->insn->id == X86_INS_CALL && x->op_count == 1 &&
						 x->operands[0].type == X86_OP_REG ?
					 addr :
					 0;
	}
cleanup:
	free(code);
	return r;
}
