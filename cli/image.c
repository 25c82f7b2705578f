/* alts-image: builds, imports, lists and removes the root filesystems sandboxes start from. */
#include "framework/common.h"
#include "framework/exitcode.h"
#include "runners/image.h"
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
		{ NULL, 0, NULL, 0 },
	};
	struct image_build_opts o = { 0 };
	struct alts_err err = ALTS_ERR_INIT;
	int c;

	while ((c = getopt_long(argc, argv, "d:m:i:V:fq", opts, NULL)) != -1) {
		switch (c) {
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
		return usage_error("usage: alts-image build [--dist NAME-VERSION] [--mirror URL] [--include PKGS] "
				   "[--variant minbase|buildd|fakechroot] [--force] [--quiet] NAME");
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

static int print_image(const struct image_meta *m, void *payload)
{
	int *count = payload;

	if (!(*count)++)
		printf("%-24s %-12s %-10s %-8s %-5s %s\n", "NAME", "DIST", "VERSION", "ARCH", "PM", "CREATED");
	printf("%-24s %-12s %-10s %-8s %-5s %s\n", m->name, m->dist_name, m->dist_version, m->arch,
	       m->package_manager, m->created);
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
	  "build [--dist NAME-VERSION] [--include PKGS] [--mirror URL] [--variant V] [--force] [--quiet] NAME:\n"
	  "      make an image with debootstrap (debian-11, debian-12, ubuntu-24.04 ...); --dist when NAME\n"
	  "      is not the distribution (alts-image build --dist debian-12 --include ...,rpm,dnf debian-12-rpm)" },
	{ "import", cmd_import, "import [--force] NAME ROOTFS.tar[.gz|.xz|.zst|.bz2]: take any root filesystem tarball" },
	{ "list", cmd_list, "list: the images in the cache" },
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
