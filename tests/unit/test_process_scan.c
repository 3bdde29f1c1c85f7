/* The /proc walk: a child process is found with its executable, identity and start
 * time, the caller is not, and target patterns match by path or base name. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent/process_scan.h"

struct seen {
	pid_t child;
	int found_child, found_self;
	struct process_info child_info;
};

static int on_process(void *ud, const struct process_info *p)
{
	struct seen *s = ud;

	if (p->pid == getpid())
		s->found_self = 1;
	if (p->pid == s->child) {
		s->found_child = 1;
		s->child_info = *p;
	}
	return 0;
}

static void a_child_is_found_with_its_executable_and_the_caller_is_not(void **state)
{
	struct seen s = { 0 };
	struct stat st;
	uint64_t start;

	s.child = fork();
	assert_true(s.child >= 0);
	if (s.child == 0) {
		execl("/bin/sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	/* Until the exec is done the child runs this test's binary. */
	for (int i = 0; i < 200; i++) {
		char exe[256] = "";
		char link[64];

		snprintf(link, sizeof(link), "/proc/%d/exe", (int)s.child);
		if (readlink(link, exe, sizeof(exe) - 1) > 0 && strstr(exe, "sleep"))
			break;
		usleep(10000);
	}
	assert_int_equal(process_scan_each(NULL, on_process, &s), 0);
	kill(s.child, SIGKILL);
	waitpid(s.child, NULL, 0);

	assert_true(s.found_child);
	assert_false(s.found_self);
	assert_non_null(strstr(s.child_info.exe, "sleep"));
	assert_int_equal(stat(s.child_info.exe, &st), 0);
	assert_int_equal(s.child_info.id.ino, (uint64_t)st.st_ino);
	assert_int_equal(s.child_info.id.dev, (uint64_t)st.st_dev);
	assert_int_equal(s.child_info.id.size, (uint64_t)st.st_size);
	assert_true(s.child_info.start_time > 0);
	/* Gone now. */
	assert_int_equal(process_start_time(NULL, s.child, &start), -ESRCH);
}

static void start_time_tells_processes_apart(void **state)
{
	uint64_t self1, self2, parent;

	assert_int_equal(process_start_time(NULL, getpid(), &self1), 0);
	assert_int_equal(process_start_time(NULL, getpid(), &self2), 0);
	assert_int_equal(self1, self2);
	assert_int_equal(process_start_time(NULL, getppid(), &parent), 0);
	assert_true(parent <= self1);
	assert_int_equal(process_start_time("/nonexistent", getpid(), &self1), -ESRCH);
}

static int stop(void *ud, const struct process_info *p)
{
	(void)p;
	(*(int *)ud)++;
	return -ECANCELED;
}

static void a_walk_stops_when_the_callback_says_so(void **state)
{
	int calls = 0;

	assert_int_equal(process_scan_each(NULL, stop, &calls), -ECANCELED);
	assert_int_equal(calls, 1);
	assert_true(process_scan_each("/nonexistent", stop, &calls) < 0);
}

static void targets_match_by_path_or_base_name(void **state)
{
	assert_true(process_exe_matches(NULL, "/usr/bin/app"));
	assert_true(process_exe_matches("", "/usr/bin/app"));
	assert_true(process_exe_matches("app", "/usr/bin/app"));
	assert_true(process_exe_matches("/usr/bin/app", "/usr/bin/app"));
	assert_false(process_exe_matches("/usr/local/bin/app", "/usr/bin/app"));
	assert_false(process_exe_matches("ap", "/usr/bin/app"));
	assert_false(process_exe_matches("bin/app", "/usr/bin/app"));
	assert_true(process_exe_matches("app", "app"));
}

/* The container a process belongs to is read from the environment the webhook gave
 * it; a process without it matches no named container. */
static void the_container_name_comes_from_the_process_environment(void **state)
{
	char name[64] = "";
	pid_t named = fork(), unnamed;

	assert_true(named >= 0);
	if (named == 0) {
		char *const env[] = { "PATH=/bin", PROCESS_CONTAINER_NAME_VAR "=checkout", NULL };
		execle("/bin/sleep", "sleep", "30", (char *)NULL, env);
		_exit(127);
	}
	unnamed = fork();
	assert_true(unnamed >= 0);
	if (unnamed == 0) {
		char *const env[] = { "PATH=/bin", NULL };
		execle("/bin/sleep", "sleep", "30", (char *)NULL, env);
		_exit(127);
	}
	/* After the exec, the environment is the new one. */
	int r = -ENOENT;
	for (int i = 0; i < 200 && r != 0; i++) {
		usleep(10000);
		r = process_container_name(NULL, named, name, sizeof(name));
	}
	assert_int_equal(r, 0);
	assert_string_equal(name, "checkout");
	for (int i = 0; i < 200; i++) {
		char exe[256] = "", link[64];
		snprintf(link, sizeof(link), "/proc/%d/exe", (int)unnamed);
		if (readlink(link, exe, sizeof(exe) - 1) > 0 && strstr(exe, "sleep"))
			break;
		usleep(10000);
	}
	assert_int_equal(process_container_name(NULL, unnamed, name, sizeof(name)), -ENOENT);
	kill(named, SIGKILL);
	kill(unnamed, SIGKILL);
	waitpid(named, NULL, 0);
	waitpid(unnamed, NULL, 0);
	assert_true(process_container_name(NULL, named, name, sizeof(name)) < 0);

	const char *const targets[] = { "checkout", "worker", NULL };
	assert_true(process_container_matches(targets, "worker"));
	assert_false(process_container_matches(targets, "istio-proxy"));
	assert_false(process_container_matches(targets, NULL));
	assert_true(process_container_matches(NULL, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_child_is_found_with_its_executable_and_the_caller_is_not),
		cmocka_unit_test(start_time_tells_processes_apart),
		cmocka_unit_test(a_walk_stops_when_the_callback_says_so),
		cmocka_unit_test(targets_match_by_path_or_base_name),
		cmocka_unit_test(the_container_name_comes_from_the_process_environment),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
