#include "tests/support/bench_wrk.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/tracer.h"

double bench_wrk(const char *url, int seconds, struct tracer *t, uint64_t *ret_requests)
{
	char dur[16], line[256], path[] = "/tmp/bench-wrk-XXXXXX";
	unsigned long long requests = 0;
	double rps = -1;
	int fd = mkstemp(path), status;
	pid_t pid;
	FILE *f;

	if (ret_requests)
		*ret_requests = 0;
	if (fd < 0)
		return -1;
	snprintf(dur, sizeof(dur), "%ds", seconds);
	pid = fork();
	if (pid == 0) {
		dup2(fd, STDOUT_FILENO);
		execlp("wrk", "wrk", "-t1", "-c16", "-d", dur, url, (char *)NULL);
		_exit(127);
	}
	close(fd);
	if (pid < 0) {
		unlink(path);
		return -1;
	}
	while (waitpid(pid, &status, WNOHANG) == 0) {
		struct pollfd pfd = { .fd = t ? tracer_wakeup_fd(t) : -1, .events = POLLIN };

		poll(&pfd, pfd.fd >= 0 ? 1 : 0, 50);
		if (t)
			tracer_poll(t);
	}
	if (t)
		tracer_poll(t);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long n;

		if (sscanf(line, " %llu requests in", &n) == 1)
			requests = n;
		if (sscanf(line, "Requests/sec: %lf", &rps) == 1)
			break;
	}
	if (f)
		fclose(f);
	unlink(path);
	if (ret_requests)
		*ret_requests = requests;
	return rps;
}
