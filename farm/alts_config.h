#ifndef ALTS_FARM_ALTS_CONFIG_H
#define ALTS_FARM_ALTS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "framework/sbuf.h"

/*
 * ALTS's own config files (alts/shared/models.py: CeleryConfig,
 * SchedulerConfig; configs/example_config.yaml), read by alts-scheduler,
 * alts-worker and alts-token. A document with ALTS's nested
 * broker_config or results_backend_config is translated into alts's flat
 * keys before it is decoded (docs/albs.md has the table):
 *   broker_config.*, ssl_config    -> rabbitmq_*, use_ssl, rabbitmq_ssl_*
 *   results_backend_config.*       -> result_backend (s3, azureblockblob, file) and its keys
 *   logs_uploader_config.*         -> the pulp or azure store's keys
 *   rhel_flavors + debian_flavors  -> supported_distributions
 *   supported_runners: all         -> every registered runner (key left out)
 *   tests_exec_timeout, commands_exec_timeout -> tests_timeout, commands_timeout
 *   uninstall_excluded_pkgs        -> uninstall_excluded_pkgs (the worker never removes them)
 *   enable_integrity_tests, bs_*, jwt_secret, hashing_algorithm, working_directory,
 *   supported_architectures, provision_timeout: the same names
 * Celery's and ALTS's internals with no meaning here (task_acks_late,
 * opennebula_config, sentry_*, ...) are left out with a warning; a key
 * that would change behaviour alts cannot give (a Redis broker,
 * excluded_tests_url) is refused by name. Null values mean "unset".
 */

/* True when data (YAML) is an ALTS config file. */
bool alts_config_detect(const char *data, size_t len);

/*
 * Translates an ALTS config (label names it in messages) into alts's
 * flat keys as JSON text in *out. ALTS_EINVALID naming the key refused.
 */
int alts_config_translate(struct sbuf *out, const char *label, const char *data, size_t len, struct alts_err *err);

#endif
