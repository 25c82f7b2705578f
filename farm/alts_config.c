#include "framework/common.h"
#include "framework/conf.h"
#include "framework/log.h"
#include "farm/alts_config.h"

#include <jansson.h>

/* Keys of ALTS's models with no meaning in alts: left out, with a warning. */
static const char *const ignored[] = {
	"task_default_queue", "task_acks_late", "task_track_started", "artifacts_root_directory",
	"worker_prefetch_multiplier", "gerrit_username", "testing", "opennebula_config", "result_backend_always_retry",
	"result_expires", "result_backend_max_retries", "worker_deduplicate_successful_tasks",
	"worker_max_tasks_per_child", "broker_pool_limit", "task_tracking_timeout", "task_soft_time_limit",
	"sentry_dsn", "sentry_traces_sample_rate", "sentry_profiles_sample_rate", "sentry_environment",
	"allowed_channel_names", "keepalive_interval", "deprecated_ansible_venv", "epel_release_urls",
	"centos_baseurl", "git_reference_directory", "tests_base_dir", "package_proxy", "development_mode",
	"authorize_build_repositories", "excluded_tests_cache_size", "excluded_tests_cache_update_interval",
	NULL,
};

/* Top-level keys that keep their name. */
static const char *const same[] = {
	"bs_host", "bs_token", "bs_tasks_endpoint", "jwt_secret", "hashing_algorithm", "working_directory",
	"supported_architectures", "provision_timeout", "enable_integrity_tests", "uninstall_excluded_pkgs",
	"use_ssl", NULL,
};

static bool in(const char *const *list, const char *k)
{
	for (; *list; list++) {
		if (!strcmp(*list, k))
			return true;
	}
	return false;
}

static json_t *node_json(yaml_document_t *doc, yaml_node_t *n, int depth)
{
	json_t *j;

	if (!n || depth > 32)
		return NULL;
	if (n->type == YAML_SCALAR_NODE) {
		const char *s = (const char *)n->data.scalar.value;
		char *end;
		long long v;

		if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
			return json_stringn(s, n->data.scalar.length);
		if (!*s || !strcmp(s, "~") || !strcmp(s, "null"))
			return json_null();
		if (!strcmp(s, "true") || !strcmp(s, "false"))
			return json_boolean(*s == 't');
		v = strtoll(s, &end, 10);
		if (*s && !*end && (isdigit((unsigned char)*s) || *s == '-'))
			return json_integer(v);
		return json_stringn(s, n->data.scalar.length);
	}
	if (n->type == YAML_SEQUENCE_NODE) {
		j = json_array();
		for (yaml_node_item_t *it = n->data.sequence.items.start; j && it < n->data.sequence.items.top; it++)
			json_array_append_new(j, node_json(doc, yaml_document_get_node(doc, *it), depth + 1));
		return j;
	}
	j = json_object();
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; j && p < n->data.mapping.pairs.top; p++) {
		const char *k = conf_scalar(yaml_document_get_node(doc, p->key));

		if (k)
			json_object_set_new(j, k, node_json(doc, yaml_document_get_node(doc, p->value), depth + 1));
	}
	return j;
}

bool alts_config_detect(const char *data, size_t len)
{
	struct alts_err err = ALTS_ERR_INIT;
	yaml_document_t doc;
	yaml_node_t *root;
	bool found = false;

	if (conf_load_document(&doc, "config", data, len, &err))
		return false;
	root = yaml_document_get_root_node(&doc);
	for (yaml_node_pair_t *p = root && root->type == YAML_MAPPING_NODE ? root->data.mapping.pairs.start : NULL;
	     p && p < root->data.mapping.pairs.top; p++) {
		const char *k = conf_scalar(yaml_document_get_node(&doc, p->key));

		found = found || (k && (!strcmp(k, "broker_config") || !strcmp(k, "results_backend_config")));
	}
	yaml_document_delete(&doc);
	return found;
}

/* Copies the non-null members of src into out under their names (or "rename" pairs). */
static void flatten(json_t *out, json_t *src)
{
	const char *k;
	json_t *v;

	json_object_foreach(src, k, v) {
		if (!json_is_null(v))
			json_object_set(out, k, v);
	}
}

static int refuse(struct alts_err *err, const char *label, const char *key, const char *why)
{
	return alts_err_set(err, ALTS_EINVALID, "%s: %s: not supported: %s (docs/albs.md)", label, key, why);
}

static int broker(json_t *out, json_t *b, const char *label, struct alts_err *err)
{
	const char *k;
	json_t *v;

	json_object_foreach(b, k, v) {
		if (json_is_null(v))
			continue;
		if (!strncmp(k, "redis_", 6))
			return refuse(err, label, "broker_config.redis_*", "alts talks to RabbitMQ only");
		if (!strcmp(k, "ssl_config")) {
			json_t *key = json_object_get(v, "security_key"), *cert = json_object_get(v, "security_certificate");
			json_t *ca = json_object_get(v, "broker_ca_certificates");

			if (json_string_length(key))
				json_object_set(out, "rabbitmq_ssl_key", key);
			if (json_string_length(cert))
				json_object_set(out, "rabbitmq_ssl_cert", cert);
			if (json_string_length(ca))
				json_object_set(out, "rabbitmq_ssl_cacert", ca);
			continue;
		}
		json_object_set(out, k, v);
	}
	return 0;
}

static int results_backend(json_t *out, json_t *r, const char *label, struct alts_err *err)
{
	if (json_string_length(json_object_get(r, "s3_bucket")))
		json_object_set_new(out, "result_backend", json_string("s3"));
	else if (json_string_length(json_object_get(r, "azure_connection_string")))
		json_object_set_new(out, "result_backend", json_string("azureblockblob"));
	else if (json_string_length(json_object_get(r, "path"))) {
		json_object_set_new(out, "result_backend", json_string("file"));
		json_object_set(out, "file_store_directory", json_object_get(r, "path"));
		json_object_del(r, "path");
	} else if (json_object_get(r, "redis_host")) {
		return refuse(err, label, "results_backend_config.redis_host", "alts stores results in files, S3 or Azure");
	}
	flatten(out, r);
	return 0;
}

int alts_config_translate(struct sbuf *out, const char *label, const char *data, size_t len, struct alts_err *err)
{
	yaml_document_t doc;
	json_t *in_j, *o = json_object(), *dists = json_array(), *v;
	const char *k;
	char *text = NULL;
	int rc = conf_load_document(&doc, label, data, len, err);

	if (rc) {
		json_decref(o);
		json_decref(dists);
		return rc;
	}
	in_j = node_json(&doc, yaml_document_get_root_node(&doc), 0);
	yaml_document_delete(&doc);
	if (!json_is_object(in_j)) {
		rc = alts_err_set(err, ALTS_EINVALID, "%s: expected a mapping", label);
		goto out;
	}
	json_object_foreach(in_j, k, v) {
		if (json_is_null(v))
			continue;
		if (!strcmp(k, "broker_config") || !strcmp(k, "ssl_config")) {
			json_t *b = json_is_object(v) ? v : NULL;

			if (!strcmp(k, "ssl_config")) {
				b = json_pack("{s:O}", "ssl_config", v);
				rc = broker(o, b, label, err);
				json_decref(b);
			} else {
				rc = b ? broker(o, b, label, err) : refuse(err, label, k, "expected a mapping");
			}
		} else if (!strcmp(k, "results_backend_config")) {
			rc = json_is_object(v) ? results_backend(o, v, label, err) : refuse(err, label, k, "expected a mapping");
		} else if (!strcmp(k, "logs_uploader_config")) {
			json_object_del(v, "skip_artifacts_upload");
			flatten(o, v);
			if (json_string_length(json_object_get(v, "pulp_host")))
				json_object_set_new(o, "result_backend", json_string("pulp"));
		} else if (!strcmp(k, "rhel_flavors") || !strcmp(k, "debian_flavors")) {
			json_array_extend(dists, v);
		} else if (!strcmp(k, "supported_runners")) {
			if (!json_is_string(v) || strcmp(json_string_value(v), "all"))
				json_object_set(o, k, v);  /* a list: names of registered runners */
		} else if (!strcmp(k, "tests_exec_timeout")) {
			json_object_set(o, "tests_timeout", v);
		} else if (!strcmp(k, "commands_exec_timeout")) {
			json_object_set(o, "commands_timeout", v);
		} else if (!strcmp(k, "excluded_tests_url")) {
			rc = refuse(err, label, k,
				    "alts does not download exclusions; list them under exclusions: in alts's engine config");
		} else if (in(same, k)) {
			json_object_set(o, k, v);
		} else if (in(ignored, k)) {
			alts_log(ALTS_LOG_WARN, "config", "%s: %s: ALTS/Celery setting with no meaning in alts; ignored", label,
				 k);
		} else {
			json_object_set(o, k, v);  /* alts's own keys may be mixed in; the decoder judges them */
		}
		if (rc)
			goto out;
	}
	if (json_array_size(dists))
		json_object_set(o, "supported_distributions", dists);
	text = json_dumps(o, JSON_COMPACT);
	if (!text) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	sbuf_reset(out);
	sbuf_adds(out, text);
	rc = sbuf_ok(out) ? 0 : alts_err_set(err, ALTS_ENOMEM, "out of memory");
out:
	free(text);
	json_decref(in_j);
	json_decref(o);
	json_decref(dists);
	return rc;
}
