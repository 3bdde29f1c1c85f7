/* A DWARF seed for fuzz_go_binary: a tiny static program whose debug info has a struct
 * with Go-like member names, so that the fuzzer starts from a well-formed .debug_info. */
struct Request {
	const char *Method;
	void *URL;
	const char *Host;
	long ContentLength;
};

struct Request req = { "GET", 0, "localhost", 0 };

void _start(void);
void _start(void)
{
	__asm__ volatile("mov $60, %%eax; xor %%edi, %%edi; syscall" ::: "memory");
}
