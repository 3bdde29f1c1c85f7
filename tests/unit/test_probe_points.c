/* Probe placement on real Go code: the entry probe of serverHandler.ServeHTTP is the
 * jbe after the stack check (checked on the raw file bytes at the returned file
 * offset), RETs are where `go tool objdump` sees them, and hand-made code covers the
 * other prologues and bad input. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent/elf_file.h"
#include "agent/go_symbols.h"
#include "agent/probe_points.h"
#include "tests/support/elf_builder.h"
#include "tests/support/go_fixtures.h"

static struct go_fixture fixtures[GO_FIXTURES_MAX];
static size_t nfixtures;
static struct probe_disasm *dis;

static int setup(void **state)
{
	if (go_fixtures_load(fixtures, GO_FIXTURES_MAX, &nfixtures) < 0)
		return -1;
	return probe_disasm_new(&dis);
}

static int teardown(void **state)
{
	dis = probe_disasm_free(dis);
	return 0;
}

static void pread_file(const char *path, uint64_t off, uint8_t *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

/* `cmp REG, [r14+0x10]` (REG rsp or r12) right before off, and a jbe at off. */
static int is_jbe_after_stack_check(const char *path, uint64_t off)
{
	uint8_t b[6];

	pread_file(path, off - 4, b, sizeof(b));
	return (b[0] == 0x49 || b[0] == 0x4d) && b[1] == 0x3b && b[2] == 0x66 && b[3] == 0x10 &&
	       (b[4] == 0x76 || (b[4] == 0x0f && b[5] == 0x86));
}

static void serve_http_entry_is_the_jbe_after_the_stack_check(void **state)
{
	size_t i;

	for (i = 0; i < nfixtures; i++) {
		struct go_symtab *t = NULL;
		struct elf_file *f = NULL;
		struct probe_point p;
		struct go_func fn;
		uint64_t sym_off;

		assert_int_equal(elf_file_open_path(fixtures[i].path, NULL, &f), 0);
		assert_int_equal(go_symtab_new(f, &t), 0);
		assert_int_equal(go_symtab_lookup(t, "net/http.serverHandler.ServeHTTP", &fn), 0);
		assert_int_equal(probe_entry_point(dis, f, &fn, &p), 0);
		assert_int_equal(p.kind, PROBE_AT_STACK_CHECK_JUMP);
		assert_int_equal(p.cost, INSN_EMULATED);
		assert_int_equal(p.vaddr, fn.addr + 4);
		assert_true(is_jbe_after_stack_check(fixtures[i].path, p.file_offset));
		assert_int_equal(elf_file_vaddr_to_offset(f, fn.addr, &sym_off), 0);
		assert_int_equal(p.file_offset, sym_off + 4);
		go_symtab_free(t);
		elf_file_free(f);
	}
}

static uint64_t sym_off_of(struct elf_file *f, uint64_t vaddr)
{
	uint64_t off = 0;

	assert_int_equal(elf_file_vaddr_to_offset(f, vaddr, &off), 0);
	return off;
}

static void every_entry_probe_is_a_checked_jbe_or_the_symbol(void **state)
{
	struct go_symtab *t = NULL;
	struct elf_file *f = NULL;
	size_t j, jbe = 0, sym = 0, big_frames = 0;

	assert_int_equal(elf_file_open_path(fixtures[0].path, NULL, &f), 0);
	assert_int_equal(go_symtab_new(f, &t), 0);
	for (j = 0; j < go_symtab_count(t); j++) {
		const struct go_func *fn = go_symtab_func(t, j);
		struct probe_point p;
		uint64_t sym_off;

		if (fn->size == 0)
			continue;
		assert_int_equal(probe_entry_point(dis, f, fn, &p), 0);
		if (p.kind == PROBE_AT_SYMBOL) {
			uint8_t head[24] = { 0 };
			size_t k, len = fn->size < sizeof(head) ? fn->size : sizeof(head);

			assert_int_equal(p.vaddr, fn->addr);
			/* No stack check missed: no `cmp REG, [r14+0x10]` in the prologue. */
			pread_file(fixtures[0].path, sym_off_of(f, fn->addr), head, len);
			for (k = 0; k + 4 <= len; k++)
				if ((head[k] == 0x49 || head[k] == 0x4d) && head[k + 1] == 0x3b &&
				    head[k + 2] == 0x66 && head[k + 3] == 0x10)
					fail_msg("%s: stack check at +%zu missed", fn->name, k);
			sym++;
			continue;
		}
		assert_int_equal(p.kind, PROBE_AT_STACK_CHECK_JUMP);
		assert_int_equal(p.cost, INSN_EMULATED);
		assert_true(is_jbe_after_stack_check(fixtures[0].path, p.file_offset));
		assert_int_equal(elf_file_vaddr_to_offset(f, fn->addr, &sym_off), 0);
		big_frames += p.file_offset != sym_off + 4;
		jbe++;
	}
	/* Most Go functions check their stack; big frames compute the bound first. */
	printf("# %zu entry probes at a stack-check jbe, %zu at the symbol\n", jbe, sym);
	assert_true(jbe > 2 * sym);
	assert_true(big_frames > 0);
	go_symtab_free(t);
	elf_file_free(f);
}

static void nosplit_assembly_is_probed_at_its_symbol(void **state)
{
	struct go_symtab *t = NULL;
	struct elf_file *f = NULL;
	struct probe_point p;
	struct go_func fn;

	assert_int_equal(elf_file_open_path(fixtures[0].path, NULL, &f), 0);
	assert_int_equal(go_symtab_new(f, &t), 0);
	assert_int_equal(go_symtab_lookup(t, "runtime.memmove", &fn), 0);
	assert_int_equal(probe_entry_point(dis, f, &fn, &p), 0);
	assert_int_equal(p.kind, PROBE_AT_SYMBOL);
	assert_int_equal(p.vaddr, fn.addr);
	assert_int_equal(p.cost, INSN_SINGLE_STEPPED); /* it starts with a mov */
	go_symtab_free(t);
	elf_file_free(f);
}

/* RET addresses of fn as `go tool objdump` prints them. */
static size_t objdump_rets(const char *path, const char *name, uint64_t *out, size_t cap)
{
	char cmd[512], line[512], re[256];
	size_t n = 0, i, k = 0;
	FILE *p;

	/* -s takes a regular expression: quote the name's metacharacters. */
	for (i = 0; name[i] && k + 2 < sizeof(re); i++) {
		if (strchr("()*.[]+?{}|^$\\", name[i]))
			re[k++] = '\\';
		re[k++] = name[i];
	}
	re[k] = '\0';
	snprintf(cmd, sizeof(cmd), "go tool objdump -s '^%s$' %s 2>/dev/null", re, path);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		unsigned long long addr;
		char hex[64], op[32];

		if (sscanf(line, " %*s 0x%llx %63s %31s", &addr, hex, op) == 3 &&
		    strcmp(op, "RET") == 0 && n < cap)
			out[n++] = addr;
	}
	pclose(p);
	return n;
}

static void ret_points_match_go_tool_objdump(void **state)
{
	static const char *const names[] = {
		"net/http.serverHandler.ServeHTTP",
		"net/http.(*response).finishRequest",
		"net/http.(*Transport).roundTrip",
		"net/textproto.(*Reader).readContinuedLineSlice",
	};
	size_t i, j, k;

	for (i = 0; i < nfixtures; i++) {
		struct go_symtab *t = NULL;
		struct elf_file *f = NULL;

		if (fixtures[i].stripped)
			continue;
		assert_int_equal(elf_file_open_path(fixtures[i].path, NULL, &f), 0);
		assert_int_equal(go_symtab_new(f, &t), 0);
		for (j = 0; j < sizeof(names) / sizeof(names[0]); j++) {
			struct probe_point pts[64];
			uint64_t want[64];
			struct go_func fn;
			size_t n = 0, nwant;

			assert_int_equal(go_symtab_lookup(t, names[j], &fn), 0);
			assert_int_equal(probe_ret_points(dis, f, &fn, pts, 64, &n), 0);
			nwant = objdump_rets(fixtures[i].path, names[j], want, 64);
			assert_true(n > 0);
			assert_int_equal(n, nwant);
			for (k = 0; k < n; k++) {
				uint8_t b;

				assert_int_equal(pts[k].vaddr, want[k]);
				assert_int_equal(pts[k].kind, PROBE_AT_RET);
				assert_int_equal(pts[k].cost, INSN_SINGLE_STEPPED);
				pread_file(fixtures[i].path, pts[k].file_offset, &b, 1);
				assert_int_equal(b, 0xc3);
			}
			if (n > 1) {
				size_t none = 99;

				assert_int_equal(probe_ret_points(dis, f, &fn, pts, n - 1, &none),
						 -ENOSPC);
				assert_int_equal(none, 99);
			}
		}
		go_symtab_free(t);
		elf_file_free(f);
	}
}

static void encodings_are_classified_as_the_kernel_runs_them(void **state)
{
	static const struct {
		uint8_t code[8];
		size_t len;
		enum insn_cost cost;
	} cases[] = {
		{ { 0x76, 0x10 }, 2, INSN_EMULATED },			      /* jbe rel8 */
		{ { 0x0f, 0x86, 0x8a, 0, 0, 0 }, 6, INSN_EMULATED },	      /* jbe rel32 */
		{ { 0xe8, 1, 2, 3, 4 }, 5, INSN_EMULATED },		      /* call */
		{ { 0xe9, 1, 2, 3, 4 }, 5, INSN_EMULATED },		      /* jmp rel32 */
		{ { 0xeb, 0x05 }, 2, INSN_EMULATED },			      /* jmp rel8 */
		{ { 0x55 }, 1, INSN_EMULATED },				      /* push rbp */
		{ { 0x41, 0x56 }, 2, INSN_EMULATED },			      /* push r14 */
		{ { 0x0f, 0x1f, 0x44, 0x00, 0x00 }, 5, INSN_EMULATED },	      /* nopl 5 */
		{ { 0x90 }, 1, INSN_EMULATED },				      /* nop */
		{ { 0x49, 0x3b, 0x66, 0x10 }, 4, INSN_SINGLE_STEPPED },	      /* cmp rsp,[r14+16] */
		{ { 0xc3 }, 1, INSN_SINGLE_STEPPED },			      /* ret */
		{ { 0x5d }, 1, INSN_SINGLE_STEPPED },			      /* pop rbp */
		{ { 0x48, 0x89, 0xe5 }, 3, INSN_SINGLE_STEPPED },	      /* mov rbp,rsp */
		{ { 0x48, 0x8b, 0x05, 1, 2, 3, 4 }, 7, INSN_SINGLE_STEPPED }, /* mov rax,[rip+x] */
		{ { 0x66, 0xe8, 1, 2 }, 4, INSN_SINGLE_STEPPED },	      /* call rel16 (0x66) */
		{ { 0x3e, 0xe8, 1, 2, 3, 4 }, 6, INSN_EMULATED },	      /* call, ds prefix */
		{ { 0x66, 0x0f, 0x1f, 0x44, 0, 0 }, 6, INSN_EMULATED },	      /* nopw 6 */
		{ { 0x66, 0x55 }, 2, INSN_SINGLE_STEPPED },		      /* push bp (16-bit) */
		{ { 0x48, 0x55 }, 2, INSN_SINGLE_STEPPED },		      /* push rbp, REX.W */
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum insn_cost cost;
		size_t len = 0;

		assert_int_equal(insn_classify(dis, cases[i].code, cases[i].len, 0x1000, &cost,
					       &len), 0);
		assert_int_equal(len, cases[i].len);
		if (cost != cases[i].cost)
			fail_msg("case %zu: %s", i, insn_cost_name(cost));
	}
}

/* Hand-made code in a synthetic ELF: fn at the first section's address. */
static size_t img_len;

static struct elf_file *code_file(const uint8_t *code, size_t len, uint8_t **ret_img)
{
	struct elf_builder_section s = { ".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, code,
					  len };
	struct elf_file *f = NULL;
	size_t n;

	assert_int_equal(elf_builder_build(&s, 1, ret_img, &n), 0);
	img_len = n;
	assert_int_equal(elf_file_open_mem(*ret_img, n, NULL, &f), 0);
	return f;
}

static void hand_made_prologues(void **state)
{
	/* lea r12,[rsp-0x80]; cmp r12,[r14+0x10]; jbe +0x10; ret */
	static const uint8_t big[] = { 0x4c, 0x8d, 0x64, 0x24, 0x80, 0x4d, 0x3b, 0x66,
				       0x10, 0x76, 0x10, 0xc3 };
	/* mov rax,1 (clobbers an argument) then the check: not a Go prologue. */
	static const uint8_t clobber[] = { 0x48, 0xc7, 0xc0, 1, 0, 0, 0, 0x49, 0x3b, 0x66,
					   0x10, 0x76, 0x10, 0xc3 };
	/* push rbp; ret: NOSPLIT, emulated at the symbol. */
	static const uint8_t nosplit[] = { 0x55, 0xc3 };
	/* cmp, then no jbe. */
	static const uint8_t nojbe[] = { 0x49, 0x3b, 0x66, 0x10, 0x90, 0xc3 };
	const uint64_t addr = ELF_BUILDER_VADDR + ELF_BUILDER_FIRST_OFFSET;
	struct { const uint8_t *code; size_t len; enum probe_kind kind; uint64_t at; } cases[] = {
		{ big, sizeof(big), PROBE_AT_STACK_CHECK_JUMP, addr + 9 },
		{ clobber, sizeof(clobber), PROBE_AT_SYMBOL, addr },
		{ nosplit, sizeof(nosplit), PROBE_AT_SYMBOL, addr },
		{ nojbe, sizeof(nojbe), PROBE_AT_SYMBOL, addr },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct go_func fn = { "f", addr, cases[i].len };
		struct probe_point p, rets[4];
		uint8_t *img = NULL;
		struct elf_file *f = code_file(cases[i].code, cases[i].len, &img);
		size_t n = 0;

		assert_int_equal(probe_entry_point(dis, f, &fn, &p), 0);
		assert_int_equal(p.kind, cases[i].kind);
		assert_int_equal(p.vaddr, cases[i].at);
		assert_int_equal(p.file_offset, ELF_BUILDER_FIRST_OFFSET + (p.vaddr - addr));
		assert_int_equal(probe_ret_points(dis, f, &fn, rets, 4, &n), 0);
		assert_int_equal(n, 1);
		assert_int_equal(rets[0].vaddr, addr + cases[i].len - 1);
		elf_file_free(f);
		free(img);
	}
}

static void bad_functions_give_errors(void **state)
{
	/* ret, int3 padding, then 0x06 (no such instruction in 64-bit mode). */
	static const uint8_t code[] = { 0xc3, 0xcc, 0xcc, 0x06, 0xc3 };
	const uint64_t addr = ELF_BUILDER_VADDR + ELF_BUILDER_FIRST_OFFSET;
	struct probe_point p, rets[4];
	uint8_t *img = NULL;
	struct elf_file *f = code_file(code, sizeof(code), &img);
	struct go_func fn = { "f", addr, sizeof(code) };
	size_t n = 0;

	assert_int_equal(probe_ret_points(dis, f, &fn, rets, 4, &n), -EINVAL);
	fn.size = 3; /* the padding alone is fine */
	assert_int_equal(probe_ret_points(dis, f, &fn, rets, 4, &n), 0);
	assert_int_equal(n, 1);
	fn.size = PROBE_MAX_FUNC_SIZE + 1;
	assert_int_equal(probe_ret_points(dis, f, &fn, rets, 4, &n), -EFBIG);
	fn.size = 4096; /* runs past the segment */
	assert_int_equal(probe_ret_points(dis, f, &fn, rets, 4, &n), -ERANGE);
	fn.addr = 0x1000;
	fn.size = 5;
	assert_int_equal(probe_entry_point(dis, f, &fn, &p), -ERANGE);
	fn.size = 0;
	assert_int_equal(probe_entry_point(dis, f, &fn, &p), -EINVAL);
	elf_file_free(f);
	/* Not x86-64. */
	img[18] = EM_AARCH64;
	assert_int_equal(elf_file_open_mem(img, img_len, NULL, &f), 0);
	fn = (struct go_func){ "f", addr, sizeof(code) };
	assert_int_equal(probe_entry_point(dis, f, &fn, &p), -ENOEXEC);
	elf_file_free(f);
	free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(serve_http_entry_is_the_jbe_after_the_stack_check),
		cmocka_unit_test(every_entry_probe_is_a_checked_jbe_or_the_symbol),
		cmocka_unit_test(nosplit_assembly_is_probed_at_its_symbol),
		cmocka_unit_test(ret_points_match_go_tool_objdump),
		cmocka_unit_test(encodings_are_classified_as_the_kernel_runs_them),
		cmocka_unit_test(hand_made_prologues),
		cmocka_unit_test(bad_functions_give_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
