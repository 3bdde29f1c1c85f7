/* Skeleton lifecycle for bpf/tp_inject.bpf.c: open -> load -> attach sock_ops to the
 * cgroup (a link, gone with its fd) and sk_msg to the sockhash (detached at free). */
#include "agent/propagation.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tp_inject.skel.h"

struct propagation {
	struct tp_inject_bpf *skel;
	struct bpf_link *sockops_link;
	int cgroup_fd;
	int msg_attached;
	char why[1152];
	int ncpus;
};

int propagation_find_cgroup2(const char *mountinfo, char *path, size_t size)
{
	char line[4096];
	FILE *f = fopen(mountinfo, "re");
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		/* id parent major:minor root mountpoint options... - fstype source ... */
		char *sep = strstr(line, " - "), *mp;
		size_t n;

		if (!sep || strncmp(sep + 3, "cgroup2 ", 8) != 0)
			continue;
		mp = line;
		for (int field = 0; field < 4 && mp; field++) {
			mp = strchr(mp, ' ');
			if (mp)
				mp++;
		}
		if (!mp)
			continue;
		n = strcspn(mp, " ");
		if (n + 1 > size) {
			r = -ENAMETOOLONG;
			break;
		}
		memcpy(path, mp, n);
		path[n] = '\0';
		r = 0;
		break;
	}
	fclose(f);
	return r;
}

/* PID 1's first: a node agent runs in the host's PID namespace with CAP_SYS_PTRACE, in a
 * container whose own cgroup2 mount, if the runtime made one, shows the container's
 * cgroup as its root (a private cgroup namespace: a sock_ops program attached there
 * sees the agent's sockets only), or which has only the cgroup v1 hierarchies (a cgroup
 * v1 or hybrid node, as kind's on such a host). The host's mount, through PID 1's root
 * directory, is the hierarchy's root every pod is under (no host path, no mount of its
 * own). On a host, PID 1's and this process's are the same. */
int propagation_find_root(const char *own_mountinfo, const char *proc_root, char *path,
			  size_t size)
{
	char mountinfo[256], mp[512];
	int n;

	snprintf(mountinfo, sizeof(mountinfo), "%s/1/mountinfo", proc_root ? proc_root : "/proc");
	if (propagation_find_cgroup2(mountinfo, mp, sizeof(mp)) == 0) {
		n = snprintf(path, size, "%s/1/root%s", proc_root ? proc_root : "/proc", mp);
		if (n > 0 && (size_t)n < size && access(path, X_OK) == 0)
			return 0;
		/* Not ours to enter (PID 1 of a user namespace above ours): our own. */
	}
	return propagation_find_cgroup2(own_mountinfo, path, size) == 0 ? 0 : -ENOENT;
}

/* Returns a new propagation; "none" with a reason when the mechanism cannot work. */
int propagation_new(const char *cgroup2_root, const char *proc_root, struct propagation **ret)
{
	struct propagation *p = calloc(1, sizeof(*p));
	char root[1024];

	if (!p)
		return -ENOMEM;
	p->cgroup_fd = -1;
	p->ncpus = libbpf_num_possible_cpus();
	if (!cgroup2_root) {
		if (propagation_find_root("/proc/self/mountinfo", proc_root, root, sizeof(root))) {
			snprintf(p->why, sizeof(p->why),
				 "no cgroup v2 hierarchy is mounted, here or for PID 1 of %s "
				 "(sock_ops programs attach to one)", proc_root ? proc_root : "/proc");
			goto none;
		}
		cgroup2_root = root;
	}
	p->cgroup_fd = open(cgroup2_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->cgroup_fd < 0) {
		snprintf(p->why, sizeof(p->why), "cannot open the cgroup v2 root %s: %s",
			 cgroup2_root, strerror(errno));
		goto none;
	}
	p->skel = tp_inject_bpf__open_and_load();
	if (!p->skel) {
		snprintf(p->why, sizeof(p->why), "the kernel refused the sock_ops/sk_msg programs: %s%s",
			 strerror(errno),
			 errno == EPERM ? " (they need CAP_NET_ADMIN: the chart's "
					  "nodeAgent.contextPropagation gives it to node agents)" : "");
		goto none;
	}
	if (bpf_prog_attach(bpf_program__fd(p->skel->progs.tp_sk_msg),
			    bpf_map__fd(p->skel->maps.socks), BPF_SK_MSG_VERDICT, 0)) {
		snprintf(p->why, sizeof(p->why), "attaching the sk_msg program failed: %s",
			 strerror(errno));
		goto none;
	}
	p->msg_attached = 1;
	p->sockops_link = bpf_program__attach_cgroup(p->skel->progs.tp_sockops, p->cgroup_fd);
	if (!p->sockops_link) {
		snprintf(p->why, sizeof(p->why), "attaching sock_ops to cgroup %s failed: %s",
			 cgroup2_root, strerror(errno));
		goto none;
	}
	*ret = p;
	return 0;
none:
	/* Tracing goes on without it. */
	if (p->msg_attached)
		bpf_prog_detach2(bpf_program__fd(p->skel->progs.tp_sk_msg),
				 bpf_map__fd(p->skel->maps.socks), BPF_SK_MSG_VERDICT);
	p->msg_attached = 0;
	tp_inject_bpf__destroy(p->skel);
	p->skel = NULL;
	if (p->cgroup_fd >= 0)
		close(p->cgroup_fd);
	p->cgroup_fd = -1;
	*ret = p;
	return 0;
}

struct propagation *propagation_free(struct propagation *p)
{
	if (!p)
		return NULL;
	bpf_link__destroy(p->sockops_link);
	if (p->msg_attached)
		bpf_prog_detach2(bpf_program__fd(p->skel->progs.tp_sk_msg),
				 bpf_map__fd(p->skel->maps.socks), BPF_SK_MSG_VERDICT);
	tp_inject_bpf__destroy(p->skel);
	if (p->cgroup_fd >= 0)
		close(p->cgroup_fd);
	free(p);
	return NULL;
}

int propagation_active(const struct propagation *p)
{
	return p && p->skel != NULL;
}

const char *propagation_mechanism(const struct propagation *p)
{
	return propagation_active(p) ? "sk_msg" : "none";
}

const char *propagation_why(const struct propagation *p)
{
	return p ? p->why : "";
}

int propagation_conn_tp_fd(const struct propagation *p)
{
	return propagation_active(p) ? bpf_map__fd(p->skel->maps.conn_tp) : -1;
}

int propagation_traced_tgids_fd(const struct propagation *p)
{
	return propagation_active(p) ? bpf_map__fd(p->skel->maps.traced_tgids) : -1;
}

int propagation_h2_streams_fd(const struct propagation *p)
{
	return propagation_active(p) ? bpf_map__fd(p->skel->maps.h2_streams) : -1;
}

int propagation_h2_conns_fd(const struct propagation *p)
{
	return propagation_active(p) ? bpf_map__fd(p->skel->maps.h2_conns) : -1;
}

int propagation_socks_fd(const struct propagation *p)
{
	return propagation_active(p) ? bpf_map__fd(p->skel->maps.socks) : -1;
}

int propagation_read_stats(const struct propagation *p, uint64_t *ret)
{
	uint64_t *percpu;

	memset(ret, 0, HC_INJ_COUNT * sizeof(*ret));
	if (!propagation_active(p) || p->ncpus <= 0)
		return 0;
	percpu = calloc((size_t)p->ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	for (uint32_t k = 0; k < HC_INJ_COUNT; k++) {
		if (bpf_map__lookup_elem(p->skel->maps.inject_stats, &k, sizeof(k), percpu,
					 sizeof(*percpu) * (size_t)p->ncpus, 0))
			continue;
		for (int c = 0; c < p->ncpus; c++)
			ret[k] += percpu[c];
	}
	free(percpu);
	return 0;
}
