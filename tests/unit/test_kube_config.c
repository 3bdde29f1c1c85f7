#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/kube/config.h"

#define FIX "tests/fixtures/kubeconfig/"

static struct kube_config *load(const char *file, const char *context)
{
	struct kube_config *cfg = NULL;
	char err[512] = "";

	int rc = kube_config_load_file(file, context, &cfg, err, sizeof(err));
	if (rc < 0)
		fail_msg("load %s: %s", file, err);
	return cfg;
}

static void current_context_with_token_and_ca_file(void **state)
{
	struct kube_config *cfg = load(FIX "token.yaml", NULL);

	assert_string_equal(cfg->context, "dev");
	/* The trailing slash is dropped so paths can be appended. */
	assert_string_equal(cfg->server, "https://127.0.0.1:6443");
	/* Relative to the kubeconfig's folder, as kubectl resolves it. */
	assert_string_equal(cfg->ca_file, FIX "certs/ca.crt");
	assert_string_equal(cfg->token, "s3cr3t");
	assert_string_equal(cfg->namespace, "team-a");
	assert_null(cfg->client_cert_pem);
	kube_config_free(cfg);
}

static void named_context_with_inline_data(void **state)
{
	struct kube_config *cfg = load(FIX "token.yaml", "ops");

	assert_string_equal(cfg->server, "https://10.0.0.1:443");
	assert_non_null(cfg->ca_pem);
	assert_true(strstr((const char *)cfg->ca_pem, "BEGIN CERTIFICATE") != NULL);
	assert_int_equal(cfg->client_cert_pem_len, 4);
	assert_memory_equal(cfg->client_cert_pem, "cert", 4);
	assert_memory_equal(cfg->client_key_pem, "key", 3);
	assert_null(cfg->token);
	assert_string_equal(cfg->namespace, "default");
	kube_config_free(cfg);
}

static void token_file_and_cert_files(void **state)
{
	struct kube_config *cfg = load(FIX "tokenfile.yaml", NULL);

	assert_string_equal(cfg->token_file, FIX "token");
	assert_string_equal(cfg->client_cert_file, FIX "a.crt");
	assert_string_equal(cfg->client_key_file, "/keys/a.key");
	assert_string_equal(cfg->ca_file, "/etc/ca.pem");
	kube_config_free(cfg);
}

/* Each broken file fails with an errno and a message naming the field at fault. */
static void broken_files_name_the_field(void **state)
{
	static const struct {
		const char *file, *context;
		int rc;
		const char *needle;
	} cases[] = {
		{ "insecure.yaml", NULL, -EPERM, "clusters[0].cluster.insecure-skip-tls-verify" },
		{ "exec.yaml", NULL, -ENOTSUP, "users[0].user.exec" },
		{ "bad-base64.yaml", NULL, -EINVAL, "users[0].user.client-certificate-data: not valid base64" },
		{ "missing-cluster.yaml", NULL, -ENOENT, "no cluster named \"nowhere\"" },
		{ "http-server.yaml", NULL, -EINVAL, "clusters[0].cluster.server: must be an https:// URL" },
		{ "cert-without-key.yaml", NULL, -EINVAL, "users[0].user: a client certificate needs its key" },
		{ "truncated.yaml", NULL, -EINVAL, "not YAML" },
		{ "not-a-map.yaml", NULL, -EINVAL, "top level is not a mapping" },
		{ "no-current-context.yaml", NULL, -EINVAL, "current-context: missing" },
		{ "server-not-string.yaml", NULL, -EINVAL, "clusters[0].cluster.server: expected a string" },
		{ "token.yaml", "nope", -ENOENT, "no context named \"nope\"" },
		{ "does-not-exist.yaml", NULL, -ENOENT, "does-not-exist.yaml" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kube_config *cfg = NULL;
		char err[512] = "", path[256];
		snprintf(path, sizeof(path), FIX "%s", cases[i].file);
		int rc = kube_config_load_file(path, cases[i].context, &cfg, err, sizeof(err));
		if (rc != cases[i].rc || !strstr(err, cases[i].needle))
			fail_msg("%s: rc %d (want %d), message \"%s\" (want \"%s\")", cases[i].file, rc,
				 cases[i].rc, err, cases[i].needle);
		assert_null(cfg);
		/* The file name is in every message from the file loader. */
		assert_non_null(strstr(err, cases[i].file));
	}
}

static void oversized_input_is_refused(void **state)
{
	size_t n = KUBE_CONFIG_MAX_BYTES + 1;
	char *big = malloc(n);
	struct kube_config *cfg = NULL;
	char err[256];

	assert_non_null(big);
	memset(big, ' ', n);
	assert_int_equal(kube_config_parse(big, n, NULL, NULL, &cfg, err, sizeof(err)), -EFBIG);
	free(big);
}

static void in_cluster_reads_the_service_account(void **state)
{
	char dir[] = "/tmp/kube-sa-XXXXXX";
	char path[512];
	struct kube_config *cfg = NULL;
	char err[256] = "";

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/token", dir);
	FILE *f = fopen(path, "w");
	fputs("tok\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/namespace", dir);
	f = fopen(path, "w");
	fputs("autotrace-system", f);
	fclose(f);

	unsetenv("KUBERNETES_SERVICE_HOST");
	assert_int_equal(kube_config_in_cluster(dir, &cfg, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "KUBERNETES_SERVICE_HOST"));

	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	assert_int_equal(kube_config_in_cluster(dir, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg->server, "https://[fd00::1]:443");
	assert_string_equal(cfg->namespace, "autotrace-system");
	snprintf(path, sizeof(path), "%s/token", dir);
	assert_string_equal(cfg->token_file, path);
	kube_config_free(cfg);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");

	snprintf(path, sizeof(path), "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(current_context_with_token_and_ca_file),
		cmocka_unit_test(named_context_with_inline_data),
		cmocka_unit_test(token_file_and_cert_files),
		cmocka_unit_test(broken_files_name_the_field),
		cmocka_unit_test(oversized_input_is_refused),
		cmocka_unit_test(in_cluster_reads_the_service_account),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
