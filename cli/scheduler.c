/* alts-scheduler: the REST API that accepts test tasks and queues them on RabbitMQ. */
#include "framework/common.h"
#include "framework/exitcode.h"
#include "framework/log.h"
#include "framework/notify.h"
#include "reporters/stores/artifact_store.h"
#include "scheduler/callback.h"
#include "scheduler/outbox.h"
#include "scheduler/pull.h"
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
	"  -c, --config FILE     the scheduler config (configs/example_config.yaml documents it;\n"
	"                        ALTS's format too); default $SCHEDULER_CONFIG_PATH\n"
	"      --port N          override listen_port (0: any free port)\n"
	"      --port-file FILE  write the bound port to FILE once listening\n"
	"      --no-broker       do not publish (tasks stay queued, unpublished)\n"
	"      --ui-dir DIR      the Swagger UI (swagger-ui-dist) served at /docs\n"
	"                        (default " ALTS_SWAGGER_UI_DIR ")\n"
	"      --log-level L     error, warn (default), info, debug, trace\n"
	"      --check-config    load the config and exit\n"
	"      --version         print the version\n"
	"  -h, --help            this text\n"
	"\n"
	"Signals: SIGTERM/SIGINT stop gracefully; SIGHUP checks the config file again and logs\n"
	"whether it loads (changes take effect at the next start).\n"
	"Exit status: 0 after a clean stop, 2 usage or config error, 3 environment failure.\n";

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

/* SIGHUP (systemctl reload): the running settings stay; say whether the file on disk still loads. */
static void check_config_again(const char *path)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct settings *cfg = NULL;

	alts_notify("RELOADING=1");
	if (settings_load(&cfg, path, &err))
		alts_log(ALTS_LOG_ERROR, "scheduler", "SIGHUP: '%s' does not load: %s", path, err.msg);
	else
		alts_log(ALTS_LOG_WARN, "scheduler", "SIGHUP: '%s' loads; restart to apply changes", path);
	settings_free(cfg);
	alts_notify("READY=1");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "port", required_argument, NULL, 'p' },
		{ "port-file", required_argument, NULL, 'P' }, { "no-broker", no_argument, NULL, 'n' },
		{ "log-level", required_argument, NULL, 'l' }, { "check-config", no_argument, NULL, 'k' },
		{ "ui-dir", required_argument, NULL, 'u' }, { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' }, { NULL, 0, NULL, 0 },
	};
	struct alts_err err = ALTS_ERR_INIT;
	struct settings *cfg = NULL;
	struct store *store = NULL;
	struct outbox *outbox = NULL;
	struct results *results = NULL;
	struct callbacks *callbacks = NULL;
	struct pull *pull = NULL;
	struct callback_opts cbo;
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
		case 'V': printf("alts-scheduler %s\n", ALTS_VERSION); return ALTS_EXIT_PASS;
		default: fputs(usage, stderr); return ALTS_EXIT_INVALID;
		}
	}
	if (!config && getenv("SCHEDULER_CONFIG_PATH") && *getenv("SCHEDULER_CONFIG_PATH"))
		config = getenv("SCHEDULER_CONFIG_PATH");  /* ALTS's variable */
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
	sigaddset(&sigs, SIGHUP);
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
	cbo = (struct callback_opts){ !strcmp(cfg->callback_format, "albs") ? CALLBACK_ALBS : CALLBACK_NATIVE,
				      cfg->bs_host, cfg->bs_token };
	if (store_open(&store, cfg->database, &err) || (!no_broker && outbox_start(&outbox, store, &cfg->farm, &err)) ||
	    (!no_broker && *cfg->farm.results_queue && results_start(&results, store, &cfg->farm, &err)) ||
	    callbacks_start(&callbacks, store, &cbo, &err) ||
	    server_start(&server, cfg, store, outbox, &sopts, &err) ||
	    (cfg->bs_host && cfg->bs_pull && pull_start(&pull, cfg, store, outbox, &err))) {
		status = fail("", &err);
		goto out;
	}
	alts_log(ALTS_LOG_WARN, "scheduler", "listening on %s:%d", cfg->listen_address, server_port(server));
	if (port_file && write_port_file(port_file, server_port(server))) {
		fprintf(stderr, "alts-scheduler: cannot write '%s': %s\n", port_file, strerror(errno));
		status = ALTS_EXIT_ENV;
		goto out;
	}
	alts_notify("READY=1"); /* systemd Type=notify: listening */
	while (!sigwait(&sigs, &sig) && sig == SIGHUP)
		check_config_again(config);
	alts_notify("STOPPING=1");
	alts_log(ALTS_LOG_WARN, "scheduler", "stopping on signal %d", sig);
out:
	pull_stop(pull);
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
