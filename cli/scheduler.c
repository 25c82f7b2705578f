/* alts-scheduler: the REST API that accepts test tasks and queues them on RabbitMQ. */
#include "framework/common.h"
#include "framework/exitcode.h"
#include "framework/log.h"
#include "reporters/stores/artifact_store.h"
#include "scheduler/callback.h"
#include "scheduler/outbox.h"
#include "scheduler/results.h"
#include "scheduler/settings.h"
#include "scheduler/server.h"
#include "scheduler/store.h"

#include <curl/curl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

/* The swagger-ui-dist files for GET /docs; CMake sets it to <prefix>/share/alts/swagger-ui. */
#ifndef ALTS_SWAGGER_UI_DIR
#define ALTS_SWAGGER_UI_DIR "/usr/local/share/alts/swagger-ui"
#endif

static const char usage[] =
	"usage: alts-scheduler -c CONFIG [--port N] [--port-file FILE] [--no-broker] [--ui-dir DIR]\n"
	"                      [--log-level LEVEL]\n"
	"\n"
	"  -c, --config FILE     the scheduler config (configs/example_config.yaml documents it)\n"
	"      --port N          override listen_port (0: any free port)\n"
	"      --port-file FILE  write the bound port to FILE once listening\n"
	"      --no-broker       do not publish (tasks stay queued, unpublished)\n"
	"      --ui-dir DIR      the Swagger UI (swagger-ui-dist) served at /docs\n"
	"                        (default " ALTS_SWAGGER_UI_DIR ")\n"
	"      --log-level L     error, warn (default), info, debug, trace\n"
	"      --check-config    load the config and exit\n";

static int fail(const char *what, const struct alts_err *err)
{
	fprintf(stderr, "alts-scheduler: %s%s%s\n", what, *what ? ": " : "", err->msg);
	return alts_err_exit_code(err->code);
}

static int write_port_file(const char *path, int port)
{
	char tmp[4096];
	FILE *f;

	if (!str_fmt(tmp, sizeof(tmp), "%s.tmp", path) || !(f = fopen(tmp, "w")))
		return -1;
	fprintf(f, "%d\n", port);
	if (fclose(f) || rename(tmp, path))
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "port", required_argument, NULL, 'p' },
		{ "port-file", required_argument, NULL, 'P' }, { "no-broker", no_argument, NULL, 'n' },
		{ "log-level", required_argument, NULL, 'l' }, { "check-config", no_argument, NULL, 'k' },
		{ "ui-dir", required_argument, NULL, 'u' }, { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	struct alts_err err = ALTS_ERR_INIT;
	struct settings *cfg = NULL;
	struct store *store = NULL;
	struct outbox *outbox = NULL;
	struct results *results = NULL;
	struct callbacks *callbacks = NULL;
	struct sched_server *server = NULL;
	struct artifact_store *artifacts = NULL;
	struct artifact_store_config store_cfg;
	struct server_options sopts = { NULL, NULL };
	const char *config = NULL, *port = NULL, *port_file = NULL, *ui_dir = ALTS_SWAGGER_UI_DIR;
	bool no_broker = false, check_only = false, curl_ready = false;
	sigset_t sigs;
	int c, sig, status = ALTS_EXIT_PASS;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'p': port = optarg; break;
		case 'P': port_file = optarg; break;
		case 'n': no_broker = true; break;
		case 'u': ui_dir = optarg; break;
		case 'k': check_only = true; break;
		case 'l':
			if (alts_log_set_level(optarg)) {
				fprintf(stderr, "alts-scheduler: unknown log level '%s'\n", optarg);
				return ALTS_EXIT_INVALID;
			}
			break;
		case 'h': fputs(usage, stdout); return ALTS_EXIT_PASS;
		default: fputs(usage, stderr); return ALTS_EXIT_INVALID;
		}
	}
	if (!config || optind != argc) {
		fputs(usage, stderr);
		return ALTS_EXIT_INVALID;
	}
	if (settings_load(&cfg, config, &err))
		return fail("", &err);
	if (port) {
		char *end;
		long p = strtol(port, &end, 10);

		if (*end || p < 0 || p > 65535) {
			fprintf(stderr, "alts-scheduler: --port: expected 0..65535\n");
			status = ALTS_EXIT_INVALID;
			goto out;
		}
		cfg->listen_port = p;
	}
	if (check_only)
		goto out;
	/* Signals are taken synchronously by the main thread; block them before any thread starts. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
	if (mkdir(cfg->farm.working_directory, 0750) && errno != EEXIST) {
		alts_err_errno(&err, ALTS_EENV, errno, "cannot create working_directory '%s'",
			       cfg->farm.working_directory);
		status = fail("", &err);
		goto out;
	}
	/* Reports and logs are read back from where workers store them, with the same settings. */
	farm_config_artifact_store(&cfg->farm, &store_cfg);
	if (artifact_store_open(&artifacts, &store_cfg, &err)) {
		status = fail("result_backend", &err);
		goto out;
	}
	sopts.artifacts = artifacts;
	sopts.ui_dir = ui_dir;
	{
		/* What the log says is what /docs does: without the UI's bundle, no page that needs it. */
		char bundle[4096];

		if (!str_fmt(bundle, sizeof(bundle), "%s/swagger-ui-bundle.js", ui_dir) || access(bundle, R_OK)) {
			alts_log(ALTS_LOG_WARN, "scheduler", "no Swagger UI in '%s' (%s): /docs answers 404", ui_dir,
				 strerror(errno));
			sopts.ui_dir = NULL;
		}
	}
	if (store_open(&store, cfg->database, &err) || (!no_broker && outbox_start(&outbox, store, &cfg->farm, &err)) ||
	    (!no_broker && *cfg->farm.results_queue && results_start(&results, store, &cfg->farm, &err)) ||
	    callbacks_start(&callbacks, store, &err) ||
	    server_start(&server, cfg, store, outbox, &sopts, &err)) {
		status = fail("", &err);
		goto out;
	}
	alts_log(ALTS_LOG_WARN, "scheduler", "listening on %s:%d", cfg->listen_address, server_port(server));
	if (port_file && write_port_file(port_file, server_port(server))) {
		fprintf(stderr, "alts-scheduler: cannot write '%s': %s\n", port_file, strerror(errno));
		status = ALTS_EXIT_ENV;
		goto out;
	}
	sigwait(&sigs, &sig);
	alts_log(ALTS_LOG_WARN, "scheduler", "stopping on signal %d", sig);
out:
	server_stop(server);
	results_stop(results);
	callbacks_stop(callbacks);
	outbox_stop(outbox);
	store_free(store);
	artifact_store_free(artifacts);
	settings_free(cfg);
	if (curl_ready)
		curl_global_cleanup();
	return status;
}
