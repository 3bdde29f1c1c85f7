/* The pod sandbox's process ("pause"): holds the pod's namespaces open, reaps the
 * children it inherits as PID 1 of a pod with shareProcessNamespace, and exits on
 * SIGINT or SIGTERM. Built static, so its image is this one file. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int sig)
{
	(void)sig;
	_exit(0);
}

static void on_child(int sig)
{
	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

int main(int argc, char **argv)
{
	struct sigaction stop = { .sa_handler = on_stop }, child = { .sa_handler = on_child };

	if (argc > 1 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
		puts("pause (autotrace node image)");
		return 0;
	}
	if (getpid() != 1)
		fputs("pause: warning: not PID 1\n", stderr);
	child.sa_flags = SA_NOCLDSTOP | SA_RESTART;
	if (sigaction(SIGINT, &stop, NULL) < 0 || sigaction(SIGTERM, &stop, NULL) < 0 ||
	    sigaction(SIGCHLD, &child, NULL) < 0)
		return 1;
	for (;;)
		pause();
}
