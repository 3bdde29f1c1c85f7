#include "agent/cgroup_container.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

struct span {
	const char *p;
	size_t n;
};

static bool has_prefix(struct span s, const char *prefix)
{
	size_t n = strlen(prefix);

	return s.n >= n && memcmp(s.p, prefix, n) == 0;
}

static bool strip_suffix(struct span *s, const char *suffix)
{
	size_t n = strlen(suffix);

	if (s->n < n || memcmp(s->p + s->n - n, suffix, n) != 0)
		return false;
	s->n -= n;
	return true;
}

/* "pod<uid>" (cgroupfs) or "<parent>-pod<uid_>.slice" (systemd, where a unit's name
 * repeats its parents' names joined by '-', and UIDs spell their dashes '_'). */
static bool pod_component(struct span c, char uid[POD_UID_MAX + 1], enum cgroup_driver *driver)
{
	if (strip_suffix(&c, ".slice")) {
		/* The UID has no '-' in this form, so the last "-pod" is the one. */
		for (size_t i = c.n; i >= 4; i--) {
			if (memcmp(c.p + i - 4, "-pod", 4) != 0)
				continue;
			if (!pod_uid_normalize(c.p + i, c.n - i, '_', uid))
				return false;
			*driver = CGROUP_DRIVER_SYSTEMD;
			return true;
		}
		return false;
	}
	if (!has_prefix(c, "pod"))
		return false;
	if (!pod_uid_normalize(c.p + 3, c.n - 3, '-', uid))
		return false;
	*driver = CGROUP_DRIVER_CGROUPFS;
	return true;
}

/* The cgroup of one container, below its pod's. */
static bool container_component(struct span c, struct container_id *ret)
{
	static const struct {
		const char *prefix;
		enum container_runtime runtime;
	} forms[] = {
		{ "cri-containerd-", CONTAINER_RUNTIME_CONTAINERD },
		{ "crio-", CONTAINER_RUNTIME_CRIO }, /* "crio-conmon-<id>" fails the ID check */
		{ "docker-", CONTAINER_RUNTIME_DOCKER },
		{ "", CONTAINER_RUNTIME_UNKNOWN },   /* cgroupfs: the bare ID */
	};

	strip_suffix(&c, ".scope");
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		size_t n = strlen(forms[i].prefix);

		if (!has_prefix(c, forms[i].prefix) || !container_id_is_valid(c.p + n, c.n - n))
			continue;
		ret->runtime = forms[i].runtime;
		memcpy(ret->id, c.p + n, CONTAINER_ID_LEN);
		ret->id[CONTAINER_ID_LEN] = '\0';
		return true;
	}
	return false;
}

/* The next '/'-separated component of *rest (empty ones skipped); false at the end. */
static bool next_component(struct span *rest, struct span *ret)
{
	while (rest->n && *rest->p == '/') {
		rest->p++;
		rest->n--;
	}
	if (!rest->n)
		return false;
	ret->p = rest->p;
	while (rest->n && *rest->p != '/') {
		rest->p++;
		rest->n--;
	}
	ret->n = (size_t)(rest->p - ret->p);
	return true;
}

int cgroup_path_container(const char *path, size_t len, struct cgroup_container *ret)
{
	struct span rest = { path, len }, c;
	struct cgroup_container found, cur;
	bool have = false, after_pod = false;

	memset(&cur, 0, sizeof(cur));
	while (next_component(&rest, &c)) {
		if (after_pod) {
			after_pod = false;
			if (container_component(c, &cur.container)) {
				found = cur;
				have = true;
				continue;
			}
		}
		/* An inner pod overrides an outer one, matched or not. */
		if (pod_component(c, cur.pod_uid, &cur.driver)) {
			have = false;
			after_pod = true;
		}
	}
	if (!have)
		return -ENOENT;
	*ret = found;
	return 0;
}

/* One line "<n>:<controllers>:<path>"; false when it has another form. */
static bool split_line(struct span line, bool *ret_v2, struct span *ret_path)
{
	const char *c1 = memchr(line.p, ':', line.n), *c2;

	if (!c1 || c1 == line.p)
		return false;
	for (const char *d = line.p; d < c1; d++)
		if (*d < '0' || *d > '9')
			return false;
	c2 = memchr(c1 + 1, ':', line.n - (size_t)(c1 + 1 - line.p));
	if (!c2)
		return false;
	ret_path->p = c2 + 1;
	ret_path->n = line.n - (size_t)(c2 + 1 - line.p);
	if (!ret_path->n || ret_path->p[0] != '/')
		return false;
	*ret_v2 = c1 - line.p == 1 && line.p[0] == '0' && c2 == c1 + 1;
	return true;
}

int cgroup_container_parse(const char *text, size_t len, struct cgroup_container *ret)
{
	bool any = false;

	/* Pass 0 reads the v2 line, pass 1 the v1 ones. */
	for (int pass = 0; pass < 2; pass++) {
		struct span rest = { text, len };

		while (rest.n) {
			const char *nl = memchr(rest.p, '\n', rest.n);
			struct span line = { rest.p, nl ? (size_t)(nl - rest.p) : rest.n }, path;
			bool v2;

			rest.p += line.n + (nl ? 1 : 0);
			rest.n -= line.n + (nl ? 1 : 0);
			if (!split_line(line, &v2, &path))
				continue;
			any = true;
			if (v2 != (pass == 0))
				continue;
			if (cgroup_path_container(path.p, path.n, ret) == 0) {
				ret->cgroup_version = v2 ? 2 : 1;
				return 0;
			}
		}
	}
	return any ? -ENOENT : -EINVAL;
}
