/* alts-image: builds, imports, lists and removes the root filesystems sandboxes start from. */
#include "framework/common.h"
#include "framework/exitcode.h"
#include "runners/image.h"
#include "runners/image_def.h"
#include "framework/conf.h"
#include "framework/log.h"
#include "runners/sandbox_state.h"

#include <getopt.h>

struct image_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

static int fail(const struct alts_err *err)
{
	fprintf(stderr, "alts-image: error: %s\n", err->msg);
	return err->code == ALTS_EINVALID || err->code == ALTS_ENOTFOUND ? ALTS_EXIT_INVALID : ALTS_EXIT_ENV;
}

static int usage_error(const char *msg)
{
	fprintf(stderr, "alts-image: %s\ntry 'alts-image --help'\n", msg);
	return ALTS_EXIT_INVALID;
}

static int cmd_build(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dist", required_argument, NULL, 'd' },    { "mirror", required_argument, NULL, 'm' },
		{ "include", required_argument, NULL, 'i' }, { "variant", required_argument, NULL, 'V' },
		{ "force", no_argument, NULL, 'f' },         { "quiet", no_argument, NULL, 'q' },
		{ "definition", required_argument, NULL, 'D' }, { NULL, 0, NULL, 0 },
	};
	struct image_build_opts o = { 0 };
	struct alts_err err = ALTS_ERR_INIT;
	int c;

	while ((c = getopt_long(argc, argv, "d:m:i:V:D:fq", opts, NULL)) != -1) {
		switch (c) {
		case 'D': o.definition = optarg; break;
		case 'd': o.dist = optarg; break;
		case 'm': o.mirror = optarg; break;
		case 'i': o.include = optarg; break;
		case 'V': o.variant = optarg; break;
		case 'f': o.force = true; break;
		case 'q': o.quiet = true; break;
		default: return ALTS_EXIT_INVALID;
		}
	}
	if (optind != argc - 1)
		return usage_error("usage: alts-image build [--definition FILE] [--dist NAME-VERSION] [--mirror URL] "
				   "[--include PKGS] [--variant minbase|buildd|fakechroot] [--force] [--quiet] NAME");
	o.name = argv[optind];
	return image_build(&o, &err) ? fail(&err) : ALTS_EXIT_PASS;
}

static int cmd_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' }, { NULL, 0, NULL, 0 },
	};
	struct alts_err err = ALTS_ERR_INIT;
	bool force = false;
	int c;

	while ((c = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
		if (c != 'f')
			return ALTS_EXIT_INVALID;
		force = true;
	}
	if (argc - optind != 2)
		return usage_error("usage: alts-image import [--force] NAME ROOTFS.tar[.gz|.xz|.zst|.bz2]");
	return image_import(argv[optind], argv[optind + 1], force, &err) ? fail(&err) : ALTS_EXIT_PASS;
}

/* "3d", "5h", "12m" or "40s": the age of an image, at a glance. */
static const char *age_text(char *buf, size_t size, double seconds)
{
	if (seconds < 0)
		snprintf(buf, size, "?");
	else if (seconds >= 86400)
		snprintf(buf, size, "%.0fd", seconds / 86400);
	else if (seconds >= 3600)
		snprintf(buf, size, "%.0fh", seconds / 3600);
	else if (seconds >= 60)
		snprintf(buf, size, "%.0fm", seconds / 60);
	else
		snprintf(buf, size, "%.0fs", seconds);
	return buf;
}

static int print_image(const struct image_meta *m, void *payload)
{
	int *count = payload;
	char age[32];

	if (!(*count)++)
		printf("%-24s %-12s %-10s %-9s %-5s %-5s %s\n", "NAME", "DIST", "VERSION", "ARCH", "PM", "AGE", "CREATED");
	printf("%-24s %-12s %-10s %-9s %-5s %-5s %s\n", m->name, m->dist_name, m->dist_version, m->arch,
	       m->package_manager, age_text(age, sizeof(age), image_age(m)), m->created);
	return 0;
}

static int cmd_list(int argc, char **argv)
{
	struct alts_err err = ALTS_ERR_INIT;
	int count = 0;

	ALTS_UNUSED(argv);
	if (argc != 1)
		return usage_error("usage: alts-image list");
	if (image_list(print_image, &count, &err))
		return fail(&err);
	if (!count)
		fprintf(stderr, "no images in %s\n", image_cache_dir());
	return ALTS_EXIT_PASS;
}

static int cmd_refresh(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quiet", no_argument, NULL, 'q' }, { "max-age", required_argument, NULL, 'a' }, { NULL, 0, NULL, 0 },
	};
	struct alts_err err = ALTS_ERR_INIT;
	double max_age = 0;
	bool quiet = false;
	int c;

	while ((c = getopt_long(argc, argv, "qa:", opts, NULL)) != -1) {
		if (c == 'q')
			quiet = true;
		else if (c == 'a' && conf_parse_duration(optarg, &max_age) && max_age > 0)
			continue;
		else if (c == 'a')
			return usage_error("invalid --max-age (a duration: 3600, 90m, 12h, 7d)");
		else
			return ALTS_EXIT_INVALID;
	}
	if (optind >= argc)
		return usage_error("usage: alts-image refresh [--max-age DURATION] [--quiet] NAME...");
	for (int i = optind; i < argc; i++) {
		if (image_refresh(argv[i], max_age, quiet, &err))
			return fail(&err);
	}
	return ALTS_EXIT_PASS;
}

static int cmd_rm(int argc, char **argv)
{
	struct alts_err err = ALTS_ERR_INIT;

	if (argc < 2)
		return usage_error("usage: alts-image rm NAME...");
	for (int i = 1; i < argc; i++) {
		if (image_remove(argv[i], &err))
			return fail(&err);
	}
	return ALTS_EXIT_PASS;
}

static int cmd_sweep(int argc, char **argv)
{
	struct alts_err err = ALTS_ERR_INIT;
	int n, m;

	ALTS_UNUSED(argv);
	if (argc != 1)
		return usage_error("usage: alts-image sweep");
	n = sandbox_state_sweep(&err);
	if (n < 0)
		return fail(&err);
	m = image_sweep(&err);
	if (m < 0)
		return fail(&err);
	printf("removed %d stale sandbox%s and %d unfinished image director%s\n", n, n == 1 ? "" : "es", m,
	       m == 1 ? "y" : "ies");
	return ALTS_EXIT_PASS;
}

static const struct image_cmd commands[] = {
	{ "build", cmd_build,
	  "build [--definition FILE] [--dist NAME-VERSION] [--include PKGS] [--mirror URL] [--variant V] [--force] "
	  "[--quiet] NAME:\n"
	  "      make an image. With a definition (FILE, or NAME.yaml in " IMAGE_DEF_ETC_DIR "\n"
	  "      or " IMAGE_DEF_SHIPPED_DIR ": almalinux-8, almalinux-9, almalinux-10 and\n"
	  "      almalinux-10-kitten are shipped; $ALTS_IMAGE_DEFINITIONS, dirs separated by ':', replaces\n"
	  "      both) with dnf --installroot; else with debootstrap (debian-11, debian-12, ubuntu-24.04 ...),\n"
	  "      --dist when NAME is not the distribution (alts-image build --dist debian-12 --include\n"
	  "      ...,rpm,dnf debian-12-rpm)" },
	{ "refresh", cmd_refresh,
	  "refresh [--max-age DURATION] [--quiet] NAME...: rebuild images the way they were built (the same\n"
	  "      definition, or debootstrap options) into a new directory and swap it in atomically; the old\n"
	  "      one serves until then. --max-age: only those older than DURATION (90m, 12h, 7d)" },
	{ "import", cmd_import, "import [--force] NAME ROOTFS.tar[.gz|.xz|.zst|.bz2]: take any root filesystem tarball" },
	{ "list", cmd_list, "list: the images in the cache: distribution, version, architecture, package manager, age" },
	{ "rm", cmd_rm, "rm NAME...: remove images" },
	{ "sweep", cmd_sweep, "sweep: remove sandboxes and unfinished images left by killed runs" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: alts-image COMMAND [ARGS]\n\nCommands:\n");
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(commands); i++)
		fprintf(f, "  %s\n", commands[i].help);
	fprintf(f, "\nOptions: --version print the version, -h, --help this text.\n"
		   "build and import show their progress (phase, bytes or packages, elapsed time) on a\n"
		   "terminal; --quiet, or stderr not being a terminal, or CI set, turns it off.\n"
		   "\nThe cache is %s ($ALTS_IMAGE_CACHE overrides it).\n"
		   "Exit status: 0 done, 2 usage or invalid input, 3 environment failure.\n",
		image_cache_dir());
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? ALTS_EXIT_INVALID : ALTS_EXIT_PASS;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("alts-image %s\n", ALTS_VERSION);
		return ALTS_EXIT_PASS;
	}
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(commands); i++) {
		if (!strcmp(argv[1], commands[i].name)) {
			optind = 1;
			return commands[i].fn(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "alts-image: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return ALTS_EXIT_INVALID;
}
