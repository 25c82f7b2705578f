/* Unit tests for farm/alts_config.c: ALTS's config files read by the scheduler and the worker. */
#include "helpers.h"
#include "farm/alts_config.h"
#include "farm/farm_config.h"
#include "scheduler/settings.h"

/* ALTS's configs/example_config.yaml, filled in. */
static const char upstream[] =
	"---\n"
	"use_ssl: false\n"
	"ssl_config:\n  security_cert_store: '/etc/ssl/certs/*.crt'\n  security_key: ''\n"
	"  security_certificate: ''\n  broker_ca_certificates: /etc/ca.pem\n  security_digest: 'sha256'\n"
	"broker_config:\n  use_ssl: false\n  rabbitmq_host: 'rabbitmq'\n  rabbitmq_port: 5673\n"
	"  rabbitmq_ssl_port: 5671\n  rabbitmq_user: 'test-system'\n  rabbitmq_password: pw\n"
	"  rabbitmq_vhost: 'test_system'\n"
	"results_backend_config:\n  s3_access_key_id: AK\n  s3_secret_access_key: SK\n  s3_bucket: b\n"
	"  s3_base_path: 'celery_result_backend/'\n  s3_region: us-east-1\n  s3_endpoint_url: http://127.0.0.1:9\n"
	"  azureblockblob_container_name:\n  azureblockblob_base_path:\n  azure_connection_string:\n"
	"task_default_queue: 'default'\ntask_acks_late: true\ntask_track_started: true\n"
	"artifacts_root_directory: 'test_system_artifacts'\nworker_prefetch_multiplier: 1\n"
	"gerrit_username:\ntesting:\nworking_directory: /srv/alts\njwt_secret: s3cret\nhashing_algorithm: 'HS384'\n"
	"opennebula_config:\n  rpc_endpoint:\n  username:\n"
	"bs_host: https://build.example\nbs_tasks_endpoint: '/api/v1/tests/get_test_tasks/'\nbs_token: tok\n"
	"logs_uploader_config:\n  pulp_host:\n  pulp_user:\n  pulp_password:\n  azure_logs_container:\n"
	"rhel_flavors: [almalinux, rhel]\ndebian_flavors: [debian]\nsupported_runners: all\n"
	"enable_integrity_tests: false\ntests_exec_timeout: 1200\ncommands_exec_timeout: 45\n"
	"provision_timeout: 300\nuninstall_excluded_pkgs: [almalinux-release, kernel]\n";

static void test_scheduler_alts_config__upstream_file(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct settings *s = NULL;
	struct farm_config *f = NULL;

	ALTS_UNUSED(state);
	assert_true(alts_config_detect(upstream, strlen(upstream)));
	assert_false(alts_config_detect("jwt_secret: x\n", 14));
	assert_ok_err(settings_load_buffer(&s, "alts.yml", upstream, strlen(upstream), &err), &err);
	assert_string_equal(s->farm.rabbitmq_host, "rabbitmq");
	assert_int_equal(s->farm.rabbitmq_port, 5673);
	assert_string_equal(s->farm.rabbitmq_password, "pw");
	assert_string_equal(s->farm.rabbitmq_ssl_cacert, "/etc/ca.pem");
	assert_string_equal(s->farm.result_backend, "s3");
	assert_string_equal(s->farm.working_directory, "/srv/alts");
	assert_true(s->farm.tests_timeout == 1200 && s->farm.commands_timeout == 45 && s->farm.provision_timeout == 300);
	assert_int_equal(s->farm.uninstall_excluded_pkgs.n, 2);
	assert_string_equal(s->jwt_secret, "s3cret");
	assert_string_equal(s->hashing_algorithm, "HS384");
	assert_string_equal(s->bs_host, "https://build.example");
	assert_string_equal(s->bs_token, "tok");
	assert_string_equal(s->callback_format, "albs");
	assert_false(s->enable_integrity_tests);
	assert_int_equal(s->supported_distributions.n, 3);
	assert_string_equal(s->supported_distributions.v[2], "debian");
	settings_free(s);
	/* The worker reads the same file. */
	assert_ok_err(farm_config_load_buffer(&f, "alts.yml", upstream, strlen(upstream), &err), &err);
	assert_string_equal(f->rabbitmq_user, "test-system");
	farm_config_free(f);
}

static void test_scheduler_alts_config__refused_by_name(void **state)
{
	static const struct {
		const char *extra, *msg;
	} cases[] = {
		{ "excluded_tests_url: https://x/skipped.json\n", "excluded_tests_url: not supported" },
		{ "no_such_key: 1\n", "no_such_key" },
	};
	const char *redis = "broker_config:\n  redis_host: r\n  redis_port: 6379\njwt_secret: x\n";
	struct alts_err err = ALTS_ERR_INIT;
	struct settings *s = NULL;

	ALTS_UNUSED(state);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(cases); i++) {
		char *doc = alts_asprintf("%s%s", upstream, cases[i].extra);

		assert_int_equal(settings_load_buffer(&s, "alts.yml", doc, strlen(doc), &err), ALTS_EINVALID);
		if (!strstr(err.msg, cases[i].msg))
			fail_msg("expected '%s' in: %s", cases[i].msg, err.msg);
		alts_free(doc);
	}
	assert_int_equal(settings_load_buffer(&s, "alts.yml", redis, strlen(redis), &err), ALTS_EINVALID);
	assert_non_null(strstr(err.msg, "redis"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scheduler_alts_config__upstream_file),
		cmocka_unit_test(test_scheduler_alts_config__refused_by_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
