/* alts-token: prints a JWT for the scheduler's REST API, as ALTS's generate_jwt_token.py does. */
#include "framework/common.h"
#include "framework/exitcode.h"
#include "scheduler/auth.h"
#include "scheduler/settings.h"

#include <getopt.h>
#include <time.h>

static const char usage[] =
	"usage: alts-token (-c CONFIG | -s SECRET [-a ALGORITHM]) -e EMAIL [--scope worker] [--expires DURATION]\n"
	"\n"
	"  -c, --config FILE      read jwt_secret and hashing_algorithm from the scheduler config\n"
	"  -s, --secret SECRET    the JWT secret (prefer ALTS_JWT_SECRET or -c: arguments are visible in ps)\n"
	"  -a, --algorithm ALG    HS256 (default), HS384 or HS512\n"
	"  -e, --email EMAIL      the `email` claim\n"
	"      --scope worker     a worker's token: may also deliver task reports (scheduler_token)\n"
	"      --expires DURATION add an `exp` claim DURATION from now (90, 30m, 12h, 7d)\n"
	"      --version          print the version\n"
	"  -h, --help             this text\n";

static int usage_error(const char *msg)
{
	fprintf(stderr, "alts-token: %s\n%s", msg, usage);
	return ALTS_EXIT_INVALID;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "secret", required_argument, NULL, 's' },
		{ "algorithm", required_argument, NULL, 'a' }, { "email", required_argument, NULL, 'e' },
		{ "expires", required_argument, NULL, 'x' }, { "scope", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' }, { NULL, 0, NULL, 0 },
	};
	struct alts_err err = ALTS_ERR_INIT;
	struct settings *cfg = NULL;
	const char *config = NULL, *secret = NULL, *alg = NULL, *email = NULL, *expires = NULL,
		   *scope = NULL;
	char *token = NULL;
	double secs = 0;
	int c, status = ALTS_EXIT_PASS;

	while ((c = getopt_long(argc, argv, "c:s:a:e:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 's': secret = optarg; break;
		case 'a': alg = optarg; break;
		case 'e': email = optarg; break;
		case 'x': expires = optarg; break;
		case 'S': scope = optarg; break;
		case 'h': fputs(usage, stdout); return ALTS_EXIT_PASS;
		case 'V': printf("alts-token %s\n", ALTS_VERSION); return ALTS_EXIT_PASS;
		default: return usage_error("invalid option");
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument");
	if (!email || !*email)
		return usage_error("--email is required");
	if (!config && !secret && getenv("SCHEDULER_CONFIG_PATH") && *getenv("SCHEDULER_CONFIG_PATH"))
		config = getenv("SCHEDULER_CONFIG_PATH");  /* ALTS's variable */
	if (!config && !secret && !getenv("ALTS_JWT_SECRET"))
		return usage_error("give --config or --secret (or set ALTS_JWT_SECRET)");
	if (config && secret)
		return usage_error("--config and --secret exclude each other");
	if (scope && strcmp(scope, "worker"))
		return usage_error("--scope: the only scope is 'worker'");
	if (expires && (!conf_parse_duration(expires, &secs) || secs < 1 || secs > 3650.0 * 86400))
		return usage_error("--expires: expected a duration such as 3600, 30m, 12h or 7d");
	if (config) {
		if (settings_load(&cfg, config, &err)) {
			fprintf(stderr, "alts-token: error: %s\n", err.msg);
			return alts_err_exit_code(err.code);
		}
		secret = cfg->jwt_secret;
		if (!alg)
			alg = cfg->hashing_algorithm;
	} else if (!secret) {
		secret = getenv("ALTS_JWT_SECRET");
	}
	if (auth_token_create(&token, secret, alg ? alg : "HS256", email, scope, (long)secs, time(NULL), &err)) {
		fprintf(stderr, "alts-token: error: %s\n", err.msg);
		status = alts_err_exit_code(err.code);
	} else {
		printf("%s\n", token);
	}
	alts_free(token);
	settings_free(cfg);
	return status;
}
