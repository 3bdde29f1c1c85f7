/* See traced_service.h. */
#include "tests/support/traced_service.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/go_fixtures.h"

struct traced_service {
	char binary[256];
	char container[64]; /* AUTOTRACE_CONTAINER_NAME in its environment, or "" */
	char next[128];     /* -next URL (tests/fixtures/go/chain), or "" */
	char addr_flag[16]; /* how the listening address is given: "-addr" unless set */
	char args[TRACED_SERVICE_MAX_ARGS][128]; /* more arguments, after it */
	size_t n_args;
	pid_t pid;
	int port;
	CURL *curl;
};

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -EADDRNOTAVAIL;

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static int accepts(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	if (fd < 0)
		return 0;
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static int spawn(struct traced_service *s)
{
	char addr[64];
	pid_t pid;
	int status;

	snprintf(addr, sizeof(addr), "127.0.0.1:%d", s->port);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int devnull;

		/* The service goes with the test or benchmark that started it, however that
		 * ends (killed, or failed before its cleanup). */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() == 1)
			_exit(127);
		devnull = open("/dev/null", O_RDWR);

		if (devnull >= 0) {
			dup2(devnull, STDIN_FILENO);
			dup2(devnull, STDOUT_FILENO);
		}
		if (s->container[0])
			setenv("AUTOTRACE_CONTAINER_NAME", s->container, 1);
		if (s->n_args) {
			char *argv[TRACED_SERVICE_MAX_ARGS + 4] = { s->binary, s->addr_flag, addr };

			for (size_t i = 0; i < s->n_args; i++)
				argv[3 + i] = s->args[i];
			execv(s->binary, argv);
		} else if (s->next[0]) {
			execl(s->binary, s->binary, "-addr", addr, "-next", s->next, (char *)NULL);
		} else {
			execl(s->binary, s->binary, "-addr", addr, (char *)NULL);
		}
		_exit(127);
	}
	s->pid = pid;
	for (int i = 0; i < 500; i++) {
		if (accepts(s->port))
			return 0;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			s->pid = 0;
			return -ECHILD;
		}
		sleep_ms(10);
	}
	return -ETIMEDOUT;
}

static void stop(struct traced_service *s)
{
	if (s->pid <= 0)
		return;
	kill(s->pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
			s->pid = 0;
			return;
		}
		sleep_ms(10);
	}
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	s->pid = 0;
}

/* This test program's private copies of the fixtures: a tracer in a test targets a
 * copy's exact path, so a leftover or concurrent run of the same fixture elsewhere on the
 * machine is never traced or counted. One folder per program, removed at exit. */
static char private_dir[64];

static void remove_private_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", private_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", private_dir);
}

static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, r = 0;
	ssize_t n;

	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (out < 0) {
		r = errno == EEXIST ? 0 : -errno; /* already copied by an earlier service */
		goto out;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (write(out, buf, (size_t)n) != n) {
			r = -EIO;
			break;
		}
	}
	if (n < 0)
		r = -errno;
out:
	close(in);
	if (out >= 0)
		close(out);
	return r;
}

/* The private copy of `binary` (made on first use) into out. */
static int private_copy(const char *binary, char *out, size_t size)
{
	const char *base = strrchr(binary, '/');

	if (!private_dir[0]) {
		snprintf(private_dir, sizeof(private_dir), "/tmp/autotrace-svc-XXXXXX");
		if (!mkdtemp(private_dir)) {
			private_dir[0] = '\0';
			return -errno;
		}
		atexit(remove_private_dir);
	}
	if ((size_t)snprintf(out, size, "%s/%s", private_dir, base ? base + 1 : binary) >= size)
		return -ENAMETOOLONG;
	return copy_file(binary, out);
}

const char *traced_service_binary(const struct traced_service *s)
{
	return s->binary;
}

int traced_service_start(const char *binary, struct traced_service **ret_service)
{
	return traced_service_start_in(binary, NULL, ret_service);
}

int traced_service_start_in(const char *binary, const char *container,
			    struct traced_service **ret_service)
{
	return traced_service_start_next(binary, container, NULL, ret_service);
}

/* A service not started yet, with its arguments. */
static int service_new(const char *next, const char *addr_flag, const char *const *args,
		       struct traced_service **ret_service)
{
	struct traced_service *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	if (next && (size_t)snprintf(s->next, sizeof(s->next), "%s", next) >= sizeof(s->next))
		goto too_long;
	if ((size_t)snprintf(s->addr_flag, sizeof(s->addr_flag), "%s",
			     addr_flag ? addr_flag : "-addr") >= sizeof(s->addr_flag))
		goto too_long;
	for (; args && args[s->n_args]; s->n_args++) {
		if (s->n_args == TRACED_SERVICE_MAX_ARGS ||
		    (size_t)snprintf(s->args[s->n_args], sizeof(s->args[0]), "%s",
				     args[s->n_args]) >= sizeof(s->args[0]))
			goto too_long;
	}
	*ret_service = s;
	return 0;
too_long:
	free(s);
	return -ENAMETOOLONG;
}

/* Starts s (steals it: freed on failure). */
static int service_start(struct traced_service *s, const char *binary, const char *container,
			 struct traced_service **ret_service)
{
	int r;

	r = private_copy(binary, s->binary, sizeof(s->binary));
	if (r < 0)
		goto fail;
	if (container)
		snprintf(s->container, sizeof(s->container), "%s", container);
	s->port = free_port();
	if (s->port < 0) {
		r = s->port;
		goto fail;
	}
	s->curl = curl_easy_init();
	if (!s->curl) {
		r = -ENOMEM;
		goto fail;
	}
	r = spawn(s);
	if (r)
		goto fail;
	*ret_service = s;
	return 0;
fail:
	traced_service_free(s);
	return r;
}

int traced_service_start_args(const char *binary, const char *addr_flag, const char *const *args,
			      struct traced_service **ret_service)
{
	struct traced_service *s;
	int r = service_new(NULL, addr_flag, args, &s);

	return r ? r : service_start(s, binary, NULL, ret_service);
}

int traced_service_start_next(const char *binary, const char *container, const char *next,
			      struct traced_service **ret_service)
{
	struct traced_service *s;
	int r = service_new(next, NULL, NULL, &s);

	return r ? r : service_start(s, binary, container, ret_service);
}

struct traced_service *traced_service_free(struct traced_service *s)
{
	if (!s)
		return NULL;
	stop(s);
	if (s->curl)
		curl_easy_cleanup(s->curl);
	free(s);
	return NULL;
}

int traced_service_restart(struct traced_service *s)
{
	stop(s);
	/* The connection went with the process. */
	curl_easy_reset(s->curl);
	return spawn(s);
}

pid_t traced_service_pid(const struct traced_service *s)
{
	return s->pid;
}

int traced_service_port(const struct traced_service *s)
{
	return s->port;
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *ud)
{
	(void)ptr;
	(void)ud;
	return size * nmemb;
}

int traced_service_request(struct traced_service *s, const char *method, const char *path,
			   const char *const *headers, long *ret_status)
{
	struct curl_slist *list = NULL, *tmp;
	char url[512];
	long status = 0;
	CURLcode rc;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s->port, path);
	for (size_t i = 0; headers && headers[i]; i++) {
		tmp = curl_slist_append(list, headers[i]);
		if (!tmp) {
			curl_slist_free_all(list);
			return -ENOMEM;
		}
		list = tmp;
	}
	curl_easy_setopt(s->curl, CURLOPT_URL, url);
	curl_easy_setopt(s->curl, CURLOPT_CUSTOMREQUEST, strcmp(method, "GET") ? method : NULL);
	curl_easy_setopt(s->curl, CURLOPT_NOBODY, strcmp(method, "HEAD") == 0 ? 1L : 0L);
	curl_easy_setopt(s->curl, CURLOPT_HTTPGET, strcmp(method, "HEAD") ? 1L : 0L);
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, 10000L);
	rc = curl_easy_perform(s->curl);
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(list);
	if (rc != CURLE_OK)
		return -EIO;
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
	*ret_status = status;
	return 0;
}

int traced_service_get(struct traced_service *s, const char *path, const char *const *headers,
		       long *ret_status)
{
	return traced_service_request(s, "GET", path, headers, ret_status);
}

int traced_service_fixture(const char *go_prefix, int stripped, char *path, size_t size)
{
	struct go_fixture fx[GO_FIXTURES_MAX];
	size_t n;
	int r;

	r = go_fixtures_load_from(TRACED_SERVICE_MANIFEST, fx, GO_FIXTURES_MAX, &n);
	if (r)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(fx[i].go_version, go_prefix, strlen(go_prefix)) == 0 &&
		    fx[i].stripped == stripped && strlen(fx[i].path) < size) {
			memcpy(path, fx[i].path, strlen(fx[i].path) + 1);
			return 0;
		}
	}
	return -ENOENT;
}
