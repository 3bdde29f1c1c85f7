#include "agent/propagation_adopt.h"

#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* One TCP socket of the process, as its duplicate tells it. */
struct tcp_sock_info {
	int fd;          /* our duplicate */
	uint16_t port;   /* local */
	uint8_t listening, established;
};

static int int_opt(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	return getsockopt(fd, level, name, &v, &len) == 0 ? v : -1;
}

/* A duplicate of the process's descriptor target_fd when it is an IPv4/IPv6 TCP socket
 * (-1 otherwise), described in ret. */
static int take_tcp_socket(int pidfd, int target_fd, struct tcp_sock_info *ret)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct tcp_info ti;
	socklen_t tlen = sizeof(ti);
	int fd = (int)syscall(SYS_pidfd_getfd, pidfd, target_fd, 0), domain;

	if (fd < 0)
		return -1;
	domain = int_opt(fd, SOL_SOCKET, SO_DOMAIN);
	if ((domain != AF_INET && domain != AF_INET6) ||
	    int_opt(fd, SOL_SOCKET, SO_TYPE) != SOCK_STREAM ||
	    int_opt(fd, SOL_SOCKET, SO_PROTOCOL) != IPPROTO_TCP ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
		close(fd);
		return -1;
	}
	ret->fd = fd;
	ret->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
						     ((struct sockaddr_in *)&ss)->sin_port);
	ret->listening = int_opt(fd, SOL_SOCKET, SO_ACCEPTCONN) == 1;
	ret->established = getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tlen) == 0 &&
			   ti.tcpi_state == TCP_ESTABLISHED;
	return fd;
}

static int is_listening_port(const struct tcp_sock_info *socks, size_t n, uint16_t port)
{
	for (size_t i = 0; i < n; i++) {
		if (socks[i].listening && socks[i].port == port)
			return 1;
	}
	return 0;
}

int propagation_adopt(int socks_fd, const char *proc_root, pid_t pid, size_t *ret_added)
{
	struct tcp_sock_info *socks = NULL;
	size_t n = 0, added = 0;
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d = NULL;
	int pidfd, r = 0;

	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return -errno;
	snprintf(path, sizeof(path), "%s/%d/fd", proc_root, (int)pid);
	d = opendir(path);
	/* Owned here, freed at the end with the duplicates it holds. */
	socks = calloc(PROPAGATION_ADOPT_MAX_FDS, sizeof(*socks));
	if (!d || !socks) {
		r = d ? -ENOMEM : -errno;
		goto out;
	}
	/* First every TCP socket, for the listening ports; then the connections. */
	while ((e = readdir(d)) && n < PROPAGATION_ADOPT_MAX_FDS) {
		char *end;
		long target = strtol(e->d_name, &end, 10);

		if (*end || end == e->d_name || target < 0 || target > INT32_MAX)
			continue;
		if (take_tcp_socket(pidfd, (int)target, &socks[n]) >= 0)
			n++;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t cookie, value;
		socklen_t len = sizeof(cookie);

		if (socks[i].listening || !socks[i].established ||
		    is_listening_port(socks, n, socks[i].port) ||
		    getsockopt(socks[i].fd, SOL_SOCKET, SO_COOKIE, &cookie, &len) != 0)
			continue;
		value = (uint64_t)socks[i].fd;
		/* EEXIST: the sock_ops program has it already. */
		if (bpf_map_update_elem(socks_fd, &cookie, &value, BPF_NOEXIST) == 0)
			added++;
	}
	*ret_added = added;
out:
	for (size_t i = 0; i < n; i++)
		close(socks[i].fd);
	free(socks);
	if (d)
		closedir(d);
	close(pidfd);
	return r;
}
