/* Unit tests for scheduler/settings.c and farm/farm_config.c: defaults, errors with file:line:col, secrets. */
#include "helpers.h"
#include "reporters/stores/artifact_store.h"
#include "scheduler/settings.h"

static int load(struct settings **c, const char *text, struct alts_err *err)
{
	return settings_load_buffer(c, "sched.yaml", text, strlen(text), err);
}

static int setup(void **state)
{
	ALTS_UNUSED(state);
	unsetenv("ALTS_JWT_SECRET");
	unsetenv("ALTS_RABBITMQ_PASSWORD");
	unsetenv("ALTS_SCHEDULER_TOKEN");
	unsetenv("ALTS_S3_SECRET_ACCESS_KEY");
	unsetenv("ALTS_AZURE_CONNECTION_STRING");
	return 0;
}

static void test_scheduler_config__defaults(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct settings *c = NULL;

	ALTS_UNUSED(state);
	assert_ok_err(load(&c, "jwt_secret: s\n", &err), &err);
	assert_string_equal(c->farm.rabbitmq_host, "localhost");
	assert_int_equal(c->farm.rabbitmq_port, 5672);
	assert_int_equal(c->farm.rabbitmq_ssl_port, 5671);
	assert_false(c->farm.use_ssl);
	assert_string_equal(c->farm.rabbitmq_vhost, "/");
	assert_string_equal(c->hashing_algorithm, "HS256");
	assert_string_equal(c->database, "/var/lib/alts/scheduler.db");
	assert_int_equal(c->supported_runners.n, 1);
	assert_string_equal(c->supported_runners.v[0], "docker");
	assert_int_equal(c->max_body_size, 1 << 20);
	settings_free(c);
}

static void test_scheduler_config__example_config_loads(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct settings *c = NULL;

	ALTS_UNUSED(state);
	assert_ok_err(settings_load(&c, ALTS_SOURCE_DIR "/configs/example_config.yaml", &err), &err);
	assert_string_equal(c->farm.rabbitmq_vhost, "test_system");
	assert_true(c->connection_timeout > 29.9 && c->connection_timeout < 30.1);
	settings_free(c);
}

/* Opens the store the config describes and returns the URL of key (alts_free). */
static char *store_url(const struct farm_config *c, const char *key)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct artifact_store_config sc;
	struct artifact_store *s = NULL;
	char *url = NULL;

	farm_config_artifact_store(c, &sc);
	assert_ok_err(artifact_store_open(&s, &sc, &err), &err);
	assert_ok_err(artifact_store_url(s, key, &url, &err), &err);
	artifact_store_free(s);
	return url;
}

/* One file configures both: the worker accepts the scheduler's keys and refuses unknown ones alike. */
static void test_scheduler_config__worker_reads_the_same_file(void **state)
{
	static const char bad[] = "jwt_secret: s\nrabbitmq_hots: x\n";
	struct alts_err err = ALTS_ERR_INIT, serr = ALTS_ERR_INIT;
	struct farm_config *c = NULL;
	struct settings *sc = NULL;

	ALTS_UNUSED(state);
	assert_ok_err(farm_config_load(&c, ALTS_SOURCE_DIR "/configs/example_config.yaml", &err), &err);
	assert_string_equal(c->rabbitmq_vhost, "test_system");
	farm_config_free(c);
	c = NULL;
	assert_ok_err(farm_config_load(&c, NULL, &err), &err);
	assert_string_equal(c->spool_directory, "/var/lib/alts/spool");
	{
		char *url = store_url(c, "k");

		assert_string_equal(url, "file:///var/lib/alts/artifacts/k");
		alts_free(url);
	}
	farm_config_free(c);
	c = NULL;
	assert_int_equal(farm_config_load_buffer(&c, "sched.yaml", bad, strlen(bad), &err), ALTS_EINVALID);
	assert_null(c);
	assert_int_equal(load(&sc, bad, &serr), ALTS_EINVALID);
	assert_string_equal(err.msg, serr.msg);
}

static void test_scheduler_config__errors_have_locations(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "jwt_secret: s\nrabbitmq_hots: x\n", "sched.yaml:2:1: unknown key 'rabbitmq_hots'" },
		{ "jwt_secret: s\nhashing_algorithm: none\n", "sched.yaml:2:20: hashing_algorithm: unsupported algorithm 'none'" },
		{ "jwt_secret: s\nrabbitmq_port: 70000\n", "rabbitmq_port: port 70000 is out of range" },
		{ "jwt_secret: s\nuse_ssl: maybe\n", "use_ssl: expected true or false" },
		{ "jwt_secret: s\nsupported_architectures: [x86_64, sparc]\n", "unknown architecture 'sparc'" },
		{ "jwt_secret: s\nsupported_runners: [any]\n", "unknown runner 'any'" },
		{ "jwt_secret: s\nmax_body_size: 0\n", "max_body_size: must be a positive number" },
		{ "rabbitmq_host: h\n", "no JWT secret" },
		{ "jwt_secret_file: /nonexistent/alts-secret\n", "cannot read jwt_secret_file '/nonexistent/alts-secret'" },
		{ "jwt_secret: s\nresult_backend: s3://b\n",
		  "sched.yaml:2:17: result_backend: unknown result backend 's3://b' (allowed: file, s3, azureblockblob, pulp, "
		  "azureblockblob://<connection string>)" },
		{ "jwt_secret: s\ns3_bukket: b\n", "sched.yaml:2:1: unknown key 's3_bukket' (known keys: rabbitmq_host," },
		{ "jwt_secret: s\ns3_addressing_style: dns\n",
		  "sched.yaml:2:22: s3_addressing_style: unknown addressing style 'dns'" },
		{ "jwt_secret: s\nfile_store_directory: ''\n", "file_store_directory: must not be empty" },
		{ "jwt_secret: s\ns3_secret_access_key_file: /nonexistent/s3\n",
		  "cannot read s3_secret_access_key_file '/nonexistent/s3'" },
	};

	ALTS_UNUSED(state);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(cases); i++) {
		struct alts_err err = ALTS_ERR_INIT;
		struct settings *c = NULL;

		assert_int_equal(load(&c, cases[i].text, &err), ALTS_EINVALID);
		assert_null(c);
		if (!strstr(err.msg, cases[i].want))
			fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].want);
	}
}

static void test_scheduler_config__secrets_from_env_and_files(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct settings *c = NULL;
	char *text;
	const char *dir = test_sandbox_init();

	ALTS_UNUSED(state);
	alts_free(test_write_file("jwt", "from-file\nsecond line ignored\n"));
	alts_free(test_write_file("pw", "  pw-from-file  \n"));
	text = alts_asprintf("jwt_secret: from-config\njwt_secret_file: %s/jwt\nrabbitmq_password_file: %s/pw\n", dir, dir);
	assert_ok_err(load(&c, text, &err), &err);
	assert_string_equal(c->jwt_secret, "from-file");
	assert_string_equal(c->farm.rabbitmq_password, "  pw-from-file");
	settings_free(c);
	setenv("ALTS_JWT_SECRET", "from-env", 1);
	setenv("ALTS_RABBITMQ_PASSWORD", "pw-env", 1);
	assert_ok_err(load(&c, text, &err), &err);
	assert_string_equal(c->jwt_secret, "from-env");
	assert_string_equal(c->farm.rabbitmq_password, "pw-env");
	settings_free(c);
	unsetenv("ALTS_JWT_SECRET");
	unsetenv("ALTS_RABBITMQ_PASSWORD");
	alts_free(text);
	test_sandbox_cleanup();
}

/* scheduler_url: an http(s) URL, and a worker's token from the file, the environment or the key. */
static void test_scheduler_config__scheduler_url_and_token(void **state)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "scheduler_url: ftp://h:1\nscheduler_token: t\n", "w.yaml:1:16: scheduler_url: expected an http:// or https:// URL" },
		{ "scheduler_url: http://\nscheduler_token: t\n", "expected an http:// or https:// URL, got 'http://'" },
		{ "scheduler_url: http://h:1\n", "scheduler_url needs a worker's token" },
		{ "scheduler_url: http://h:1\nscheduler_token_file: /nonexistent/t\n", "cannot read scheduler_token_file" },
	};
	struct alts_err err = ALTS_ERR_INIT;
	struct farm_config *c = NULL;
	const char *dir = test_sandbox_init();
	char *text;

	ALTS_UNUSED(state);
	assert_ok_err(farm_config_load_buffer(&c, "w.yaml", "{}", 2, &err), &err);
	assert_null(c->scheduler_url);  /* unset: the results queue only */
	farm_config_free(c);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(bad); i++) {
		assert_int_equal(farm_config_load_buffer(&c, "w.yaml", bad[i].text, strlen(bad[i].text), &err), ALTS_EINVALID);
		if (!strstr(err.msg, bad[i].want))
			fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, bad[i].want);
	}
	alts_free(test_write_file("tok", "tok-from-file\n"));
	text = alts_asprintf("scheduler_url: https://sched:8000\nscheduler_token: from-key\nscheduler_token_file: %s/tok\n", dir);
	assert_ok_err(farm_config_load_buffer(&c, "w.yaml", text, strlen(text), &err), &err);
	assert_string_equal(c->scheduler_url, "https://sched:8000");
	assert_string_equal(c->scheduler_token, "tok-from-file");
	farm_config_free(c);
	setenv("ALTS_SCHEDULER_TOKEN", "tok-env", 1);
	assert_ok_err(farm_config_load_buffer(&c, "w.yaml", text, strlen(text), &err), &err);
	assert_string_equal(c->scheduler_token, "tok-env");
	farm_config_free(c);
	unsetenv("ALTS_SCHEDULER_TOKEN");
	alts_free(text);
	test_sandbox_cleanup();
}

/* The backends' keys sit flat among the scheduler's and reach the store; secrets resolve as before. */
static void test_scheduler_config__store_keys(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct farm_config *c = NULL;
	const char *dir = test_sandbox_init();
	char *text, *url;

	ALTS_UNUSED(state);
	/* file: the directory defaults under working_directory; s3_base_path prefixes its keys too. */
	text = alts_asprintf("working_directory: %s\ns3_base_path: p/\n", dir);
	assert_ok_err(farm_config_load_buffer(&c, "w.yaml", text, strlen(text), &err), &err);
	url = store_url(c, "t/report.tap");
	assert_true(strstr(url, "/artifacts/p/t/report.tap") && !strncmp(url, "file://", 7));
	alts_free(url);
	farm_config_free(c);
	alts_free(text);

	/* s3: the secret comes from its file, then from the environment. */
	alts_free(test_write_file("s3secret", "from-file\n"));
	text = alts_asprintf("result_backend: s3\ns3_bucket: b\ns3_access_key_id: a\n"
			     "s3_secret_access_key_file: %s/s3secret\ns3_base_path: p/\nazureblockblob_base_path: x/\n",
			     dir);
	assert_ok_err(farm_config_load_buffer(&c, "w.yaml", text, strlen(text), &err), &err);
	url = store_url(c, "t/report.tap");
	assert_string_equal(url, "s3://b/p/t/report.tap");
	alts_free(url);
	farm_config_free(c);
	alts_free(text);
	text = alts_strdup("result_backend: s3\ns3_bucket: b\ns3_access_key_id: a\n");
	assert_ok_err(farm_config_load_buffer(&c, "w.yaml", text, strlen(text), &err), &err);
	{
		struct artifact_store_config sc;
		struct artifact_store *s = NULL;

		farm_config_artifact_store(c, &sc);
		assert_int_equal(artifact_store_open(&s, &sc, &err), ALTS_EINVALID);
		assert_non_null(strstr(err.msg, "result backend 's3' needs s3_secret_access_key"));
	}
	farm_config_free(c);
	setenv("ALTS_S3_SECRET_ACCESS_KEY", "from-env", 1);
	assert_ok_err(farm_config_load_buffer(&c, "w.yaml", text, strlen(text), &err), &err);
	alts_free(store_url(c, "k"));
	farm_config_free(c);
	unsetenv("ALTS_S3_SECRET_ACCESS_KEY");
	alts_free(text);

	/* azure: ALTS's form in result_backend, its own base path. */
	text = "result_backend: azureblockblob://AccountName=acct;AccountKey=a2V5\n"
	       "azureblockblob_container_name: c\nazureblockblob_base_path: x/\ns3_base_path: p/\n";
	assert_ok_err(farm_config_load_buffer(&c, "w.yaml", text, strlen(text), &err), &err);
	url = store_url(c, "t/report.tap");
	assert_string_equal(url, "https://acct.blob.core.windows.net/c/x/t/report.tap");
	alts_free(url);
	farm_config_free(c);
	test_sandbox_cleanup();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_scheduler_config__defaults, setup),
		cmocka_unit_test_setup(test_scheduler_config__example_config_loads, setup),
		cmocka_unit_test_setup(test_scheduler_config__worker_reads_the_same_file, setup),
		cmocka_unit_test_setup(test_scheduler_config__errors_have_locations, setup),
		cmocka_unit_test_setup(test_scheduler_config__store_keys, setup),
		cmocka_unit_test_setup(test_scheduler_config__secrets_from_env_and_files, setup),
		cmocka_unit_test_setup(test_scheduler_config__scheduler_url_and_token, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
