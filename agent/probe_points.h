/* Where to put the uprobes on a Go function (x86-64), by what each hit costs.
 *
 * The kernel emulates a few instructions at a uprobe (jcc, jmp, call, push, nop) for
 * some 0.2-0.45 us a hit, and single-steps every other one out of line for about
 * 16 us. A Go function starts with `cmp rsp, [r14+0x10]` (single-stepped) and then
 * `jbe` (emulated), and the argument registers still hold the arguments at the jbe:
 * the entry probe goes there. A function without that stack check (NOSPLIT) is probed
 * at its symbol. A function's end is probed at its RET instructions (never with a
 * uretprobe, which breaks Go's moving stacks), each a single-stepped probe: prefer the
 * entry of a function that marks the end of an operation when there is one.
 *
 * When the stack check fails, the jbe jumps to morestack, which grows the stack and
 * restarts the function from its first byte: the entry probe then fires a second time
 * for the same call, on the same goroutine (as a probe at the symbol would). Key entry
 * state by goroutine and let the second hit overwrite the first.
 *
 * Offsets returned are file offsets, which uprobes attach by.
 * Errors: 0 or a negative errno (-ENOEXEC not x86-64 code, -EINVAL undecodable code,
 * -EFBIG a function over PROBE_MAX_FUNC_SIZE, -ENOSPC more RETs than room). */
#ifndef AUTOTRACE_AGENT_PROBE_POINTS_H
#define AUTOTRACE_AGENT_PROBE_POINTS_H

#include <stddef.h>
#include <stdint.h>

#include "agent/elf_file.h"
#include "agent/go_symbols.h"

#define PROBE_MAX_FUNC_SIZE (1u << 20)

enum insn_cost {
	INSN_EMULATED,       /* the kernel emulates it: cheap */
	INSN_SINGLE_STEPPED, /* executed out of line: ~35x dearer */
};

enum probe_kind {
	PROBE_AT_STACK_CHECK_JUMP, /* the jbe after the stack check: args in registers */
	PROBE_AT_SYMBOL,           /* no stack check found: the function's first byte */
	PROBE_AT_RET,
	PROBE_AFTER_CALL,   /* where a call returns to: the results still in registers */
	PROBE_ERROR_BRANCH, /* the first instruction of the branch taken when a call's error
			     * result (RBX, the error's itab) is not nil: hit on errors only */
};

struct probe_point {
	uint64_t vaddr;
	uint64_t file_offset;
	enum probe_kind kind;
	enum insn_cost cost;
	uint8_t insn_len;
};

struct probe_disasm;

/* A disassembler for choosing probe points; reusable across files and functions, not
 * across threads. Returns a new probe_disasm in ret_disasm. */
int probe_disasm_new(struct probe_disasm **ret_disasm);
struct probe_disasm *probe_disasm_free(struct probe_disasm *disasm);

/* The entry probe point of fn (see above). */
int probe_entry_point(struct probe_disasm *disasm, struct elf_file *file,
		      const struct go_func *fn, struct probe_point *ret_point);
/* Every RET instruction of fn, in address order, into points[0..cap). ret_count gets
 * how many there are; -ENOSPC (and nothing written to ret_count) when over cap. */
int probe_ret_points(struct probe_disasm *disasm, struct elf_file *file,
		     const struct go_func *fn, struct probe_point *points, size_t cap,
		     size_t *ret_count);

/* In caller, the first call of the function at callee_addr: where it returns to (the
 * instruction after the call; Go puts a nop there, which the kernel emulates), into
 * ret_after, and, when the code right after tests the error result (`test rbx, rbx`
 * then jne/je, past nops), the first instruction of the error's branch into
 * ret_error (-ENOENT in ret_error_status otherwise; ret_error may be NULL). -ENOENT
 * when caller has no such call. */
int probe_call_points(struct probe_disasm *disasm, struct elf_file *file,
		      const struct go_func *caller, uint64_t callee_addr,
		      struct probe_point *ret_after, struct probe_point *ret_error,
		      int *ret_error_status);

/* In caller, the other way to the same place as its first call of callee_addr: a call
 * through a register whose next instruction jumps to where that call's results are
 * first used (past its return point's nops), e.g. net/http.(*Transport).roundTrip's
 * HTTP/2 call `pconn.alt.RoundTrip(req)` beside its HTTP/1 `pconn.roundTrip(treq)`.
 * The jmp goes into ret_point: the results are in the same registers there, and the
 * kernel emulates it. -ENOENT when there is none. */
int probe_joining_call_point(struct probe_disasm *disasm, struct elf_file *file,
			     const struct go_func *caller, uint64_t callee_addr,
			     struct probe_point *ret_point);

/* How the kernel runs a uprobe on the instruction at code[0..len) (by its encoding, as
 * arch/x86/kernel/uprobes.c decides), and its length. */
int insn_classify(struct probe_disasm *disasm, const uint8_t *code, size_t len, uint64_t addr,
		  enum insn_cost *ret_cost, size_t *ret_insn_len);

const char *probe_kind_name(enum probe_kind kind);
const char *insn_cost_name(enum insn_cost cost);

#endif
