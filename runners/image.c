#include "framework/common.h"
#include "runners/image.h"
#include "runners/image_def.h"
#include "runners/image_progress.h"
#include "framework/fs.h"
#include "framework/log.h"
#include "framework/proc.h"
#include "framework/sbuf.h"
#include "runners/runner_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define IMAGE_DEFAULT_INCLUDE "debsums,procps,bats,binutils,ca-certificates"

const char *image_cache_dir(void)
{
	const char *d = getenv("ALTS_IMAGE_CACHE");

	/* Paths below it must fit PATH_MAX with room for names. */
	return d && *d && strlen(d) < 1024 ? d : IMAGE_DEFAULT_CACHE;
}

bool image_name_ok(const char *name)
{
	size_t len = strlen(name);

	if (!len || len > 100 || !(islower((unsigned char)name[0]) || isdigit((unsigned char)name[0])))
		return false;
	for (const char *p = name; *p; p++) {
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && !strchr("._-", *p))
			return false;
	}
	return true;
}

static const char *host_arch(void)
{
	static struct utsname uts;

	if (!uts.machine[0] && uname(&uts) < 0)
		return "x86_64";
	return uts.machine;
}

static bool arch_is_host(const char *arch)
{
	const char *h = host_arch();

	if (!strcmp(arch, h))
		return true;
	return !strcmp(h, "x86_64") ? !strcmp(arch, "amd64") : !strcmp(h, "aarch64") && !strcmp(arch, "arm64");
}

void image_name_for(char *buf, size_t size, const char *dist_name, const char *dist_version, const char *arch)
{
	size_t len = (size_t)snprintf(buf, size, "%s", dist_name ? dist_name : "");

	if (dist_version && *dist_version && len < size)
		len += (size_t)snprintf(buf + len, size - len, "-%s", dist_version);
	if (arch && *arch && !arch_is_host(arch) && len < size)
		snprintf(buf + len, size - len, "-%s", arch);
	for (char *p = buf; *p; p++)
		*p = (char)tolower((unsigned char)*p);
}

void image_rootfs(char *buf, size_t size, const char *name)
{
	str_fmt(buf, size, "%s/%s/rootfs", image_cache_dir(), name);
}

static int check_name(const char *name, struct alts_err *err)
{
	if (!image_name_ok(name))
		return alts_err_set(err, ALTS_EINVALID,
				    "invalid image name '%s' (lowercase letters, digits, '.', '_' and '-')", name);
	return 0;
}

static void copy_field(char *dst, size_t size, json_t *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(obj, key));

	snprintf(dst, size, "%s", v ? v : "");
}

int image_open(struct image_meta *out, const char *name, struct alts_err *err)
{
	char path[PATH_MAX];
	json_error_t jerr;
	json_t *root;
	int rc = check_name(name, err);

	if (rc)
		return rc;
	str_fmt(path, sizeof(path), "%s/%s/meta.json", image_cache_dir(), name);
	if (access(path, F_OK))
		return alts_err_set(err, ALTS_ENOTFOUND, "no image '%s' in %s (build it with 'alts-image build %s')",
				    name, image_cache_dir(), name);
	root = json_load_file(path, 0, &jerr);
	if (!root || !json_is_object(root)) {
		json_decref(root);
		return alts_err_set(err, ALTS_EENV, "cannot read '%s': %s", path, jerr.text);
	}
	memset(out, 0, sizeof(*out));
	copy_field(out->name, sizeof(out->name), root, "name");
	copy_field(out->dist_name, sizeof(out->dist_name), root, "dist_name");
	copy_field(out->dist_version, sizeof(out->dist_version), root, "dist_version");
	copy_field(out->arch, sizeof(out->arch), root, "arch");
	copy_field(out->package_manager, sizeof(out->package_manager), root, "package_manager");
	copy_field(out->created, sizeof(out->created), root, "created");
	copy_field(out->source, sizeof(out->source), root, "source");
	copy_field(out->definition, sizeof(out->definition), root, "definition");
	json_decref(root);
	return 0;
}

/* Takes the image's lock (waiting for a concurrent build); returns the fd or a negative code. */
static int image_lock(const char *name, struct alts_err *err)
{
	char path[PATH_MAX];
	int fd, rc = fs_mkdir_p(image_cache_dir(), 0755, err);

	if (rc)
		return rc;
	str_fmt(path, sizeof(path), "%s/%s.lock", image_cache_dir(), name);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot open lock '%s'", path);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			rc = alts_err_errno(err, ALTS_EENV, errno, "cannot lock '%s'", path);
			close(fd);
			return rc;
		}
	}
	return fd;
}

static bool image_exists(const char *name)
{
	char path[PATH_MAX];

	str_fmt(path, sizeof(path), "%s/%s/meta.json", image_cache_dir(), name);
	return access(path, F_OK) == 0;
}

static void progress_output(void *payload, enum proc_stream stream, const char *buf, size_t len)
{
	ALTS_UNUSED(stream);
	image_progress_feed(payload, buf, len);
}

/* home: $HOME for the tool (rpm reads HOME/.rpmmacros), or NULL for none. */
static int run_tool(const char *const *argv, const char *log_path, bool quiet, double timeout,
		    struct image_progress *progress, const char *home, struct alts_err *err)
{
	char home_env[PATH_MAX + 8];
	const char *envp[] = {
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
		"DEBIAN_FRONTEND=noninteractive", home ? home_env : NULL, NULL,
	};
	struct proc_spec spec = PROC_SPEC_INIT;
	struct proc_result res;
	struct sbuf tail = SBUF_INIT;
	int rc;

	if (home)
		str_fmt(home_env, sizeof(home_env), "HOME=%s", home);
	spec.argv = argv;
	spec.envp = envp;
	spec.stdout_path = log_path;
	spec.stderr_path = log_path;
	spec.append = true;
	spec.timeout = timeout;
	if (progress) {
		spec.on_output = progress_output;
		spec.payload = progress;
	}
	if (!quiet)
		fprintf(stderr, "alts-image: running %s (log: %s)\n", argv[0], log_path);
	rc = proc_run(&res, &spec, err);
	image_progress_finish(progress);
	if (rc)
		return rc;
	if (res.exit_code == 0)
		return 0;
	sbuf_read_file(&tail, log_path, 0);
	sbuf_trim_trailing(&tail);
	{
		const char *last = strrchr(tail.buf, '\n');

		rc = alts_err_set(err, ALTS_EENV, "%s failed (%s %d)%s%s", argv[0],
				  res.exec_errno ? "not installed? exit" : res.timed_out ? "timed out, exit" : "exit",
				  res.exit_code, tail.len ? ": " : "", last ? last + 1 : tail.buf);
	}
	sbuf_release(&tail);
	return rc;
}

static void now_iso(char *buf, size_t size)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/*
 * The manager of the tree's own packages: a Debian tree with rpm and dnf
 * added (to test .rpm packages) is still an apt system.
 */
static const char *detect_manager(const char *rootfs)
{
	static const struct { const char *path, *name; } deb[] = {
		{ "usr/bin/apt-get", "apt" }, { "usr/bin/dpkg", "dpkg" },
	}, rpm[] = {
		{ "usr/bin/dnf", "dnf" }, { "usr/bin/yum", "yum" }, { "usr/bin/rpm", "rpm" },
	};
	char path[PATH_MAX];
	struct stat st;
	bool debian;

	str_fmt(path, sizeof(path), "%s/var/lib/dpkg/status", rootfs);
	debian = !stat(path, &st) && st.st_size > 0;
	for (int pass = 0; pass < 2; pass++) {
		bool use_deb = (pass == 0) == debian;
		size_t n = use_deb ? ALTS_ARRAY_SIZE(deb) : ALTS_ARRAY_SIZE(rpm);

		for (size_t i = 0; i < n; i++) {
			const char *rel = use_deb ? deb[i].path : rpm[i].path;

			str_fmt(path, sizeof(path), "%s/%s", rootfs, rel);
			if (!access(path, F_OK))
				return use_deb ? deb[i].name : rpm[i].name;
		}
	}
	return "";
}

/* What write_meta records besides the tree's own os-release. */
struct meta_in {
	const char *name;
	const char *source;
	const char *arch;
	const char *dist_name;     /* fills what os-release leaves out; may be NULL */
	const char *dist_version;  /* the same */
	bool declared;             /* dist_name/dist_version win over os-release (a definition declares them) */
	const char *definition;    /* the definition file a dnf build came from, or NULL */
};

/* Writes meta.json from the tree's os-release and in. */
static int write_meta(const char *dir, const struct meta_in *in, struct alts_err *err)
{
	char path[PATH_MAX], rootfs[PATH_MAX], created[32];
	struct runner_info info = { 0 };
	struct sbuf text = SBUF_INIT;
	const char *dist_name, *dist_version;
	json_t *meta;
	int rc;

	str_fmt(rootfs, sizeof(rootfs), "%s/rootfs", dir);
	str_fmt(path, sizeof(path), "%s/etc/os-release", rootfs);
	if (sbuf_read_file(&text, path, 65536)) {
		str_fmt(path, sizeof(path), "%s/usr/lib/os-release", rootfs);
		sbuf_reset(&text);
		if (sbuf_read_file(&text, path, 65536))
			sbuf_reset(&text);
	}
	rc = runner_parse_os_release(&info, text.buf, err);
	sbuf_release(&text);
	if (rc)
		goto out;
	if (!*info.os_id && !in->dist_name) {
		rc = alts_err_set(err, ALTS_EINVALID, "the tree's os-release has no ID=");
		goto out;
	}
	dist_name = *info.os_id && !in->declared ? info.os_id : in->dist_name;
	dist_version = (*info.os_version && !in->declared) || !in->dist_version ? info.os_version : in->dist_version;
	if (in->declared && *info.os_id && (strcmp(info.os_id, in->dist_name) || strcmp(info.os_version, in->dist_version)))
		alts_log(ALTS_LOG_WARN, "image", "%s: the tree's os-release says %s %s, the definition %s %s: "
			 "meta.json records the definition's", in->name, info.os_id, info.os_version, in->dist_name,
			 in->dist_version);
	now_iso(created, sizeof(created));
	meta = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "name", in->name, "dist_name", dist_name,
			 "dist_version", dist_version, "arch", in->arch, "package_manager", detect_manager(rootfs),
			 "created", created, "source", in->source);
	if (meta && in->definition)
		json_object_set_new(meta, "definition", json_string(in->definition));
	str_fmt(path, sizeof(path), "%s/meta.json", dir);
	if (!meta || json_dump_file(meta, path, JSON_INDENT(2)))
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot write '%s'", path);
	json_decref(meta);
out:
	alts_free((char *)info.os_id);
	alts_free((char *)info.os_id_like);
	alts_free((char *)info.os_version);
	return rc;
}

static int make_tmp_dir(char *buf, size_t size, const char *name, struct alts_err *err)
{
	str_fmt(buf, size, "%s/.tmp-%s-XXXXXX", image_cache_dir(), name);
	if (!mkdtemp(buf))
		return alts_err_errno(err, ALTS_EENV, errno, "cannot create a directory in '%s'", image_cache_dir());
	return 0;
}

int image_hold(const char *name)
{
	char path[PATH_MAX];
	int fd;

	if (!image_name_ok(name) || !str_fmt(path, sizeof(path), "%s/%s.users", image_cache_dir(), name))
		return -1;
	fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd >= 0 && flock(fd, LOCK_SH) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

void image_release(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* True when a sandbox holds the image (image_hold): its old trees must stay. */
static bool image_in_use(const char *name)
{
	char path[PATH_MAX];
	int fd;
	bool used;

	str_fmt(path, sizeof(path), "%s/%s.users", image_cache_dir(), name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	used = flock(fd, LOCK_EX | LOCK_NB) < 0;
	close(fd);
	return used;
}

/*
 * True when entry is ".tmp-NAME-XXXXXX" or ".old-NAME-XXXXXX" (mkdtemp's six
 * characters); NAME goes to name.
 */
static bool leftover_name(const char *entry, char *name, size_t size)
{
	size_t len = strlen(entry);

	if ((strncmp(entry, ".tmp-", 5) && strncmp(entry, ".old-", 5)) || len < 5 + 1 + 7 ||
	    entry[len - 7] != '-' || len - 12 >= size)
		return false;
	memcpy(name, entry + 5, len - 12);
	name[len - 12] = '\0';
	return image_name_ok(name);
}

/*
 * Removes leftover directories: those of image only (its lock must be
 * held), or with only == NULL those whose image lock is free. Returns how
 * many were removed.
 */
static int remove_leftovers(const char *only)
{
	struct dirent **entries = NULL;
	int n = scandir(image_cache_dir(), &entries, NULL, NULL), removed = 0;

	for (int i = 0; i < n; i++) {
		char name[128], path[PATH_MAX];
		bool stale = false;

		if (leftover_name(entries[i]->d_name, name, sizeof(name))) {
			if (!strncmp(entries[i]->d_name, ".old-", 5) && image_in_use(name)) {
				stale = false;  /* a running sandbox may still read it */
			} else if (only) {
				stale = !strcmp(name, only);
			} else {
				int fd;

				str_fmt(path, sizeof(path), "%s/%s.lock", image_cache_dir(), name);
				fd = open(path, O_RDWR | O_CLOEXEC);
				stale = fd < 0 ? errno == ENOENT : flock(fd, LOCK_EX | LOCK_NB) == 0;
				if (fd >= 0)
					close(fd);
			}
		}
		if (stale && str_fmt(path, sizeof(path), "%s/%s", image_cache_dir(), entries[i]->d_name)) {
			alts_log(ALTS_LOG_INFO, "image", "removing leftover %s", path);
			if (!fs_remove_tree(path))
				removed++;
		}
		free(entries[i]);
	}
	free(entries);
	return removed;
}

int image_sweep(struct alts_err *err)
{
	if (access(image_cache_dir(), F_OK))
		return errno == ENOENT ? 0 : alts_err_errno(err, ALTS_EENV, errno, "cannot read '%s'", image_cache_dir());
	return remove_leftovers(NULL);
}

/*
 * Moves a finished tree into place. An existing image (force, refresh) is
 * swapped with it in one step (renameat2 RENAME_EXCHANGE), so the name
 * always holds a complete image, then removed; where the filesystem cannot
 * exchange, the old one is renamed away first.
 */
static int commit_image(const char *tmp, const char *name, struct alts_err *err)
{
	char final[PATH_MAX], old[PATH_MAX];

	str_fmt(final, sizeof(final), "%s/%s", image_cache_dir(), name);
	if (!access(final, F_OK)) {
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_EXCHANGE) == 0) {
			str_fmt(old, sizeof(old), "%s/.old-%s-XXXXXX", image_cache_dir(), name);
			if (!mkdtemp(old) || rename(tmp, old) < 0)
				fs_remove_tree(tmp);
			else if (!image_in_use(name))
				fs_remove_tree(old);
			else
				alts_log(ALTS_LOG_INFO, "image", "'%s' is in use: its old tree %s stays until the next sweep",
					 name, old);
			return 0;
		}
		str_fmt(old, sizeof(old), "%s/.old-%s-XXXXXX", image_cache_dir(), name);
		if (!mkdtemp(old) || rename(final, old) < 0)
			return alts_err_errno(err, ALTS_EENV, errno, "cannot replace image '%s'", name);
		fs_remove_tree(old);
	}
	if (rename(tmp, final) < 0)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot move the new image to '%s'", final);
	return 0;
}

static const char *debian_codename(const char *dist, const char *version)
{
	static const struct { const char *dist, *version, *codename; } map[] = {
		{ "debian", "10", "buster" }, { "debian", "11", "bullseye" }, { "debian", "12", "bookworm" },
		{ "debian", "13", "trixie" }, { "debian", "sid", "sid" }, { "debian", "unstable", "sid" },
		{ "ubuntu", "20.04", "focal" }, { "ubuntu", "22.04", "jammy" }, { "ubuntu", "24.04", "noble" },
	};

	for (size_t i = 0; i < ALTS_ARRAY_SIZE(map); i++) {
		if (!strcmp(map[i].dist, dist) && !strcmp(map[i].version, version))
			return map[i].codename;
	}
	return NULL;
}

/* The first Debian archive URI the host's apt uses, so builds go where apt goes. */
static bool host_mirror(char *buf, size_t size)
{
	const char *files[] = { "/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list" };

	for (size_t i = 0; i < ALTS_ARRAY_SIZE(files); i++) {
		struct sbuf text = SBUF_INIT;
		const char *line;

		if (sbuf_read_file(&text, files[i], 1 << 20)) {
			sbuf_release(&text);
			continue;
		}
		for (line = text.buf; line && *line;) {
			const char *nl = strchr(line, '\n');
			size_t len = nl ? (size_t)(nl - line) : strlen(line);
			const char *url = NULL;

			if (!strncmp(line, "URIs:", 5))
				url = line + 5;
			else if (!strncmp(line, "deb ", 4))
				url = line + 4;
			while (url && (*url == ' ' || *url == '\t' || *url == '['))
				url = *url == '[' ? strchr(url, ']') + 1 : url + 1;
			if (url && (size_t)(url - line) < len) {
				size_t ulen = strcspn(url, " \t\n");

				if (!memmem(url, ulen, "security", 8) && ulen < size) {
					memcpy(buf, url, ulen);
					buf[ulen] = '\0';
					sbuf_release(&text);
					return true;
				}
			}
			line = nl ? nl + 1 : NULL;
		}
		sbuf_release(&text);
	}
	return false;
}

/* A debootstrap target: "debian-12" -> debian, 12, bookworm. */
struct build_dist {
	char name[64];
	char version[32];
	const char *codename;
};

static int parse_dist(struct build_dist *out, const char *dist, struct alts_err *err)
{
	const char *dash = strchr(dist, '-');

	if (!dash || dash == dist || (size_t)(dash - dist) >= sizeof(out->name) ||
	    strlen(dash + 1) >= sizeof(out->version))
		goto bad;
	snprintf(out->name, sizeof(out->name), "%.*s", (int)(dash - dist), dist);
	snprintf(out->version, sizeof(out->version), "%s", dash + 1);
	out->codename = debian_codename(out->name, out->version);
	if (out->codename)
		return 0;
bad:
	return alts_err_set(err, ALTS_EINVALID,
			    "cannot build '%s': debootstrap builds debian-10..13, debian-sid and ubuntu-20.04/22.04/24.04 "
			    "(give the distribution with --dist when the image name differs); import other systems "
			    "with 'alts-image import NAME rootfs.tar'",
			    dist);
}

/* http(s)://, ftp:// or file:/ with no spaces, quotes or control characters. */
static int check_mirror(const char *mirror, struct alts_err *err)
{
	static const char *const schemes[] = { "http://", "https://", "ftp://", "file:/" };
	bool scheme = false;

	for (size_t i = 0; i < ALTS_ARRAY_SIZE(schemes); i++)
		scheme = scheme || !strncmp(mirror, schemes[i], strlen(schemes[i]));
	for (const unsigned char *p = (const unsigned char *)mirror; scheme && *p; p++) {
		if (*p <= ' ' || *p >= 0x7f || strchr("\"'\\`", *p))
			scheme = false;
	}
	if (!scheme || strlen(mirror) >= 500)
		return alts_err_set(err, ALTS_EINVALID,
				    "invalid mirror '%s' (an http://, https://, ftp:// or file:/ URL without spaces)",
				    mirror);
	return 0;
}

/* Comma-separated Debian package names: [a-z0-9][a-z0-9+.-]*. */
static int check_include(const char *include, struct alts_err *err)
{
	const char *p = include;

	if (strlen(include) >= 480)
		return alts_err_set(err, ALTS_EINVALID, "--include list is too long (%zu bytes, at most 479)",
				    strlen(include));
	for (;;) {
		size_t n = strcspn(p, ",");

		if (!n || !(islower((unsigned char)*p) || isdigit((unsigned char)*p)))
			goto bad;
		for (size_t i = 0; i < n; i++) {
			if (!islower((unsigned char)p[i]) && !isdigit((unsigned char)p[i]) && !strchr("+.-", p[i]))
				goto bad;
		}
		if (!p[n])
			return 0;
		p += n + 1;
	}
bad:
	return alts_err_set(err, ALTS_EINVALID,
			    "invalid --include '%s' (comma-separated package names: lowercase letters, digits, '+', "
			    "'.' and '-')",
			    include);
}

int image_build_check(const struct image_build_opts *opts, struct alts_err *err)
{
	static const char *const variants[] = { "minbase", "buildd", "fakechroot" };
	struct build_dist d;
	int rc = check_name(opts->name, err);

	if (!rc)
		rc = parse_dist(&d, opts->dist ? opts->dist : opts->name, err);
	if (!rc && opts->mirror)
		rc = check_mirror(opts->mirror, err);
	if (!rc && opts->include)
		rc = check_include(opts->include, err);
	if (!rc && opts->variant) {
		bool known = false;

		for (size_t i = 0; i < ALTS_ARRAY_SIZE(variants); i++)
			known = known || !strcmp(opts->variant, variants[i]);
		if (!known)
			rc = alts_err_set(err, ALTS_EINVALID, "unknown variant '%s' (minbase, buildd or fakechroot)",
					  opts->variant);
	}
	return rc;
}

/* An existing image of another distribution is not what was asked for. */
static int check_existing(const char *name, const struct build_dist *d, struct alts_err *err)
{
	struct image_meta m;
	struct alts_err ignored = ALTS_ERR_INIT;

	if (image_open(&m, name, &ignored) || !m.dist_name[0])
		return 0;
	if (strcmp(m.dist_name, d->name) || (m.dist_version[0] && strcmp(m.dist_version, d->version)))
		return alts_err_set(err, ALTS_EINVALID,
				    "image '%s' exists with %s-%s, not %s-%s (use --force to rebuild it)", name, m.dist_name,
				    m.dist_version, d->name, d->version);
	return 0;
}

/* qemu-user's binfmt handler name for a dnf architecture, or NULL. */
static const char *qemu_name(const char *arch)
{
	static const struct { const char *arch, *qemu; } map[] = {
		{ "x86_64", "x86_64" }, { "x86_64_v2", "x86_64" }, { "aarch64", "aarch64" }, { "ppc64le", "ppc64le" },
		{ "s390x", "s390x" },   { "i686", "i386" },        { "armv7hl", "arm" },      { "riscv64", "riscv64" },
	};

	for (size_t i = 0; i < ALTS_ARRAY_SIZE(map); i++) {
		if (!strcmp(map[i].arch, arch))
			return map[i].qemu;
	}
	return NULL;
}

/* True when the binfmt_misc entry of qemu-NAME is registered and enabled. */
static bool binfmt_enabled(const char *qemu)
{
	char path[PATH_MAX], head[16] = { 0 };
	const char *dir = getenv("ALTS_BINFMT_DIR");
	int fd;
	bool on;

	str_fmt(path, sizeof(path), "%s/qemu-%s", dir && *dir ? dir : "/proc/sys/fs/binfmt_misc", qemu);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	on = read(fd, head, sizeof(head) - 1) > 0 && !strncmp(head, "enabled", 7);
	close(fd);
	return on;
}

int image_arch_support(const char *arch)
{
	const char *h = host_arch(), *q;

	if (!arch || !*arch || arch_is_host(arch))
		return IMAGE_ARCH_NATIVE;
	/* The host runs its 32-bit and baseline-level siblings itself. */
	if (!strcmp(h, "x86_64") && (!strcmp(arch, "x86_64_v2") || !strcmp(arch, "i686") || !strcmp(arch, "i386")))
		return IMAGE_ARCH_NATIVE;
	if (!strcmp(h, "aarch64") && !strcmp(arch, "armv7hl"))
		return IMAGE_ARCH_NATIVE;
	q = qemu_name(arch);
	return q && binfmt_enabled(q) ? IMAGE_ARCH_EMULATED : IMAGE_ARCH_NO;
}

int image_arch_check(const char *arch, struct alts_err *err)
{
	const char *q = qemu_name(arch);

	if (image_arch_support(arch) != IMAGE_ARCH_NO)
		return 0;
	return alts_err_set(err, ALTS_EINVALID,
			    "this %s host cannot run %s programs: no qemu-user binfmt handler 'qemu-%s' is registered "
			    "(install qemu-user-static and binfmt-support, or use a %s worker)",
			    host_arch(), arch, q ? q : arch, arch);
}

/* An existing image of another distribution is not what the definition asks for. */
static int check_existing_def(const char *name, const struct image_def *def, struct alts_err *err)
{
	struct image_meta m;
	struct alts_err ignored = ALTS_ERR_INIT;

	if (image_open(&m, name, &ignored) || !m.dist_name[0])
		return 0;
	if (strcmp(m.dist_name, def->dist_name) || strcmp(m.dist_version, def->dist_version))
		return alts_err_set(err, ALTS_EINVALID,
				    "image '%s' exists with %s-%s, not %s-%s (use --force to rebuild it)", name, m.dist_name,
				    m.dist_version, def->dist_name, def->dist_version);
	return 0;
}

/* Writes a new file (O_EXCL: the directory is ours and fresh). */
static int write_new_file(const char *path, const char *data, size_t len, struct alts_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	bool ok = fd >= 0 && write(fd, data, len) == (ssize_t)len;

	if (fd >= 0 && close(fd) < 0)
		ok = false;
	return ok ? 0 : alts_err_errno(err, ALTS_EENV, errno, "cannot write '%s'", path);
}

/* tmp/dnf.conf and tmp/home/.rpmmacros (the database where the image's rpm looks for it). */
static int write_dnf_files(const char *tmp, const struct image_def *def, struct alts_err *err)
{
	char path[PATH_MAX];
	struct sbuf text = SBUF_INIT;
	int rc;

	image_def_dnf_conf(&text, def);
	str_fmt(path, sizeof(path), "%s/dnf.conf", tmp);
	rc = write_new_file(path, text.buf, text.len, err);
	sbuf_reset(&text);
	if (!rc) {
		str_fmt(path, sizeof(path), "%s/home", tmp);
		if (mkdir(path, 0700) < 0)
			rc = alts_err_errno(err, ALTS_EENV, errno, "cannot create '%s'", path);
	}
	if (!rc) {
		sbuf_addf(&text, "%%_dbpath %s\n", def->rpm_dbpath);
		str_fmt(path, sizeof(path), "%s/home/.rpmmacros", tmp);
		rc = write_new_file(path, text.buf, text.len, err);
	}
	if (!rc) {
		str_fmt(path, sizeof(path), "%s/rootfs", tmp);
		if (mkdir(path, 0755) < 0)
			rc = alts_err_errno(err, ALTS_EENV, errno, "cannot create '%s'", path);
	}
	sbuf_release(&text);
	return rc;
}

static int image_build_dnf(const struct image_build_opts *opts, const char *def_path, struct alts_err *err)
{
	char tmp[PATH_MAX], path[PATH_MAX], log_path[PATH_MAX], home[PATH_MAX], source[PATH_MAX + 16];
	char abs[PATH_MAX];
	struct image_def *def = NULL;
	const char *arch, *forcearch = NULL;
	int lock = -1, rc = check_name(opts->name, err);

	if (rc)
		return rc;
	if (opts->dist || opts->mirror || opts->include || opts->variant)
		return alts_err_set(err, ALTS_EINVALID,
				    "--dist, --mirror, --include and --variant are debootstrap's: '%s' is built from the "
				    "definition %s (edit a copy of it instead)",
				    opts->name, def_path);
	if (!realpath(def_path, abs))
		return alts_err_errno(err, ALTS_EINVALID, errno, "cannot read image definition '%s'", def_path);
	rc = image_def_load(&def, abs, err);
	if (rc)
		return rc;
	arch = def->arch ? def->arch : host_arch();
	rc = image_arch_check(arch, err);
	if (rc)
		goto out;
	if (image_arch_support(arch) == IMAGE_ARCH_EMULATED)
		forcearch = arch;
	lock = image_lock(opts->name, err);
	if (lock < 0) {
		rc = lock;
		goto out;
	}
	if (image_exists(opts->name) && !opts->force) {
		rc = check_existing_def(opts->name, def, err);
		if (!rc && !opts->quiet)
			fprintf(stderr, "alts-image: '%s' is already built\n", opts->name);
		goto out;
	}
	remove_leftovers(opts->name);
	rc = make_tmp_dir(tmp, sizeof(tmp), opts->name, err);
	if (rc)
		goto out;
	rc = write_dnf_files(tmp, def, err);
	str_fmt(path, sizeof(path), "%s/dnf.conf", tmp);
	str_fmt(log_path, sizeof(log_path), "%s/build.log", tmp);
	str_fmt(home, sizeof(home), "%s/home", tmp);
	if (!rc) {
		char rootfs[PATH_MAX];
		const char **argv;

		str_fmt(rootfs, sizeof(rootfs), "%s/rootfs", tmp);
		argv = image_def_dnf_argv(def, path, rootfs, forcearch);
		if (!argv) {
			rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		} else {
			struct image_progress *progress =
				image_progress_start(opts->name, stderr, image_progress_wanted(opts->quiet, STDERR_FILENO), 0);

			rc = run_tool(argv, log_path, opts->quiet, 3600, progress, home, err);
		}
	}
	fs_remove_tree(home);
	if (!rc) {
		str_fmt(source, sizeof(source), "dnf %s", abs);
		rc = write_meta(tmp,
				&(struct meta_in){ opts->name, source, arch, def->dist_name, def->dist_version, true, abs },
				err);
	}
	if (!rc)
		rc = commit_image(tmp, opts->name, err);
	if (rc) {
		alts_err_prefix(err, "cannot build image '%s' from %s (kept %s for inspection)", opts->name, abs, tmp);
		goto out;
	}
	if (!opts->quiet)
		fprintf(stderr, "alts-image: built '%s' (%s-%s, %s) in %s/%s\n", opts->name, def->dist_name,
			def->dist_version, arch, image_cache_dir(), opts->name);
out:
	if (lock >= 0)
		close(lock);
	image_def_free(def);
	return rc;
}

int image_build(const struct image_build_opts *opts, struct alts_err *err)
{
	char tmp[PATH_MAX], rootfs[PATH_MAX], log_path[PATH_MAX], mirror[512], source[700];
	char variant[64], include[512];
	struct build_dist d;
	int lock, rc;

	if (opts->definition || (!opts->dist && !check_name(opts->name, err) &&
				 !image_def_find(tmp, sizeof(tmp), opts->name, &(struct alts_err)ALTS_ERR_INIT)))
		return image_build_dnf(opts, opts->definition ? opts->definition : tmp, err);
	rc = image_build_check(opts, err);
	if (rc)
		return rc;
	parse_dist(&d, opts->dist ? opts->dist : opts->name, err);
	if (opts->mirror)
		snprintf(mirror, sizeof(mirror), "%s", opts->mirror);
	else if (strcmp(d.name, "debian") || !host_mirror(mirror, sizeof(mirror)))
		snprintf(mirror, sizeof(mirror), "%s",
			 strcmp(d.name, "debian") ? "http://archive.ubuntu.com/ubuntu" : "http://deb.debian.org/debian");
	lock = image_lock(opts->name, err);
	if (lock < 0)
		return lock;
	if (image_exists(opts->name) && !opts->force) {
		rc = check_existing(opts->name, &d, err);
		if (!rc && !opts->quiet)
			fprintf(stderr, "alts-image: '%s' is already built\n", opts->name);
		close(lock);
		return rc;
	}
	remove_leftovers(opts->name);
	rc = make_tmp_dir(tmp, sizeof(tmp), opts->name, err);
	if (rc)
		goto out;
	str_fmt(rootfs, sizeof(rootfs), "%s/rootfs", tmp);
	str_fmt(log_path, sizeof(log_path), "%s/build.log", tmp);
	snprintf(variant, sizeof(variant), "--variant=%s", opts->variant ? opts->variant : "minbase");
	snprintf(include, sizeof(include), "--include=%s", opts->include ? opts->include : IMAGE_DEFAULT_INCLUDE);
	{
		const char *argv[] = { "debootstrap", variant, include, d.codename, rootfs, mirror, NULL };
		struct image_progress *progress =
			image_progress_start(opts->name, stderr, image_progress_wanted(opts->quiet, STDERR_FILENO), 0);

		rc = run_tool(argv, log_path, opts->quiet, 3600, progress, NULL, err);
	}
	if (!rc) {
		str_fmt(source, sizeof(source), "debootstrap %s %s%s%s%s%s", d.codename, mirror,
			opts->include ? " --include=" : "", opts->include ? opts->include : "",
			opts->variant ? " --variant=" : "", opts->variant ? opts->variant : "");
		rc = write_meta(tmp, &(struct meta_in){ opts->name, source, host_arch(), d.name, d.version, false, NULL },
				err);
	}
	if (!rc)
		rc = commit_image(tmp, opts->name, err);
	if (rc) {
		alts_err_prefix(err, "cannot build image '%s' (kept %s for inspection)", opts->name, tmp);
		goto out;
	}
	if (!opts->quiet)
		fprintf(stderr, "alts-image: built '%s' (%s-%s) in %s/%s\n", opts->name, d.name, d.version,
			image_cache_dir(), opts->name);
out:
	close(lock);
	return rc;
}

/* A plain tar (ustar magic) or a compressed stream tar can read by itself. */
static int check_tarball(const char *path, struct alts_err *err)
{
	static const struct { size_t off, len; const char *magic; } magics[] = {
		{ 0, 2, "\x1f\x8b" },                 /* gzip */
		{ 0, 6, "\xfd" "7zXZ\0" },            /* xz */
		{ 0, 4, "\x28\xb5\x2f\xfd" },         /* zstd */
		{ 0, 3, "BZh" },                      /* bzip2 */
		{ 257, 5, "ustar" },                  /* POSIX and GNU tar */
	};
	unsigned char head[512];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return alts_err_errno(err, ALTS_EINVALID, errno, "cannot open '%s'", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return alts_err_set(err, ALTS_EINVALID, "'%s' is not a regular file", path);
	}
	n = read(fd, head, sizeof(head));
	close(fd);
	for (size_t i = 0; n > 0 && i < ALTS_ARRAY_SIZE(magics); i++) {
		if ((size_t)n >= magics[i].off + magics[i].len &&
		    !memcmp(head + magics[i].off, magics[i].magic, magics[i].len))
			return 0;
	}
	return alts_err_set(err, ALTS_EINVALID,
			    "'%s' is not a tar archive (plain, or compressed with gzip, xz, zstd or bzip2)", path);
}

/* True for an uncompressed tar: its size is what tar reads, so the progress can show a percentage. */
static bool plain_tar(const char *path)
{
	char head[262];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool plain = fd >= 0 && read(fd, head, sizeof(head)) == (ssize_t)sizeof(head) && !memcmp(head + 257, "ustar", 5);

	if (fd >= 0)
		close(fd);
	return plain;
}

int image_import(const char *name, const char *tarball, bool force, struct alts_err *err)
{
	char tmp[PATH_MAX], rootfs[PATH_MAX], log_path[PATH_MAX], source[PATH_MAX + 16], abs[PATH_MAX];
	int lock, rc = check_name(name, err);

	tmp[0] = '\0';
	if (rc)
		return rc;
	if (!realpath(tarball, abs))
		return alts_err_errno(err, ALTS_EINVALID, errno, "cannot read '%s'", tarball);
	rc = check_tarball(abs, err);
	if (rc)
		return rc;
	lock = image_lock(name, err);
	if (lock < 0)
		return lock;
	if (image_exists(name) && !force) {
		rc = alts_err_set(err, ALTS_EINVALID, "image '%s' exists (use --force to replace it)", name);
		goto out;
	}
	remove_leftovers(name);
	rc = make_tmp_dir(tmp, sizeof(tmp), name, err);
	if (rc) {
		tmp[0] = '\0';
		goto fail;
	}
	str_fmt(rootfs, sizeof(rootfs), "%s/rootfs", tmp);
	str_fmt(log_path, sizeof(log_path), "%s/import.log", tmp);
	if (mkdir(rootfs, 0755) < 0) {
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot create '%s'", rootfs);
		goto fail;
	}
	{
		/* GNU tar recognises gzip, xz, zstd and bzip2 compression by itself when reading a file. */
		const char *argv[] = { "tar", "-x", "-f", abs, "-C", rootfs, "--numeric-owner", "--xattrs",
				       "--xattrs-include=*", IMAGE_PROGRESS_TAR_CHECKPOINT, IMAGE_PROGRESS_TAR_ACTION, NULL };
		struct stat st;
		struct image_progress *progress = image_progress_start(
			name, stderr, image_progress_wanted(false, STDERR_FILENO),
			!plain_tar(abs) || stat(abs, &st) ? 0 : (double)st.st_size);

		rc = run_tool(argv, log_path, true, 3600, progress, NULL, err);
	}
	if (!rc) {
		char osr[PATH_MAX], osr2[PATH_MAX];

		str_fmt(osr, sizeof(osr), "%s/etc/os-release", rootfs);
		str_fmt(osr2, sizeof(osr2), "%s/usr/lib/os-release", rootfs);
		if (access(osr, F_OK) && access(osr2, F_OK))
			rc = alts_err_set(err, ALTS_EINVALID,
					  "'%s' has no etc/os-release or usr/lib/os-release: is it the root of a system tree?",
					  tarball);
	}
	if (!rc) {
		str_fmt(source, sizeof(source), "import %s", abs);
		rc = write_meta(tmp, &(struct meta_in){ name, source, host_arch(), NULL, NULL, false, NULL }, err);
	}
	if (!rc)
		rc = commit_image(tmp, name, err);
fail:
	if (rc) {
		if (tmp[0])
			fs_remove_tree(tmp);
		alts_err_prefix(err, "cannot import '%s' as image '%s'", tarball, name);
	}
out:
	close(lock);
	return rc;
}

int image_remove(const char *name, struct alts_err *err)
{
	char path[PATH_MAX], old[PATH_MAX];
	int lock, rc = check_name(name, err);

	if (rc)
		return rc;
	if (!image_exists(name))
		return alts_err_set(err, ALTS_ENOTFOUND, "no image '%s' in %s", name, image_cache_dir());
	lock = image_lock(name, err);
	if (lock < 0)
		return lock;
	str_fmt(path, sizeof(path), "%s/%s", image_cache_dir(), name);
	str_fmt(old, sizeof(old), "%s/.old-%s-XXXXXX", image_cache_dir(), name);
	if (!mkdtemp(old) || rename(path, old) < 0) {
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot remove image '%s'", name);
	} else if ((rc = fs_remove_tree(old)) != 0) {
		rc = alts_err_errno(err, ALTS_EENV, -rc, "cannot remove '%s'", old);
	}
	close(lock);
	return rc;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int image_list(int (*fn)(const struct image_meta *m, void *payload), void *payload, struct alts_err *err)
{
	struct dirent **entries = NULL;
	int n = scandir(image_cache_dir(), &entries, NULL, by_name), rc = 0;

	if (n < 0)
		return errno == ENOENT ? 0 : alts_err_errno(err, ALTS_EENV, errno, "cannot read '%s'", image_cache_dir());
	for (int i = 0; i < n; i++) {
		struct image_meta m;
		struct alts_err ignored = ALTS_ERR_INIT;

		if (!rc && entries[i]->d_name[0] != '.' && image_name_ok(entries[i]->d_name) &&
		    image_exists(entries[i]->d_name) && !image_open(&m, entries[i]->d_name, &ignored))
			rc = fn(&m, payload);
		free(entries[i]);
	}
	free(entries);
	return rc;
}

double image_age(const struct image_meta *m)
{
	struct tm tm = { 0 };
	const char *end = strptime(m->created, "%Y-%m-%dT%H:%M:%SZ", &tm);

	if (!end || *end)
		return -1;
	return difftime(time(NULL), timegm(&tm));
}

/* The next space-separated word of *p, in buf; false at the end. */
static bool next_word(const char **p, char *buf, size_t size)
{
	size_t n;

	while (**p == ' ')
		(*p)++;
	n = strcspn(*p, " ");
	if (!n || n >= size)
		return false;
	memcpy(buf, *p, n);
	buf[n] = '\0';
	*p += n;
	return true;
}

/* Build options from meta.json's source "debootstrap CODENAME MIRROR [--include=X] [--variant=V]". */
static int refresh_opts(struct image_build_opts *o, const struct image_meta *m, char *dist, size_t dsize,
			char *mirror, size_t msize, char *include, size_t isize, char *variant, size_t vsize,
			struct alts_err *err)
{
	const char *p = m->source + strlen("debootstrap ");
	char word[512];

	if (m->definition[0]) {
		o->definition = m->definition;
		return 0;
	}
	if (strncmp(m->source, "debootstrap ", 12))
		return alts_err_set(err, ALTS_EINVALID,
				    "image '%s' was not built by alts-image (%s): import a new tree with "
				    "'alts-image import --force %s ROOTFS.tar'",
				    m->name, m->source[0] ? m->source : "no source recorded", m->name);
	str_fmt(dist, dsize, "%s-%s", m->dist_name, m->dist_version);
	o->dist = dist;
	if (!next_word(&p, word, sizeof(word)) || !next_word(&p, mirror, msize))
		return alts_err_set(err, ALTS_EINVALID, "image '%s': cannot read its source '%s'", m->name, m->source);
	o->mirror = mirror;
	while (next_word(&p, word, sizeof(word))) {
		if (!strncmp(word, "--include=", 10) && str_fmt(include, isize, "%s", word + 10))
			o->include = include;
		else if (!strncmp(word, "--variant=", 10) && str_fmt(variant, vsize, "%s", word + 10))
			o->variant = variant;
	}
	return 0;
}

int image_refresh(const char *name, double max_age, bool quiet, struct alts_err *err)
{
	char dist[200], mirror[512], include[512], variant[64];
	struct image_build_opts o = { 0 };
	struct image_meta m;
	double age;
	int rc = image_open(&m, name, err);

	if (rc)
		return rc;
	age = image_age(&m);
	if (max_age > 0 && age >= 0 && age < max_age) {
		if (!quiet)
			fprintf(stderr, "alts-image: '%s' is %.0f s old, newer than %.0f s: kept\n", name, age, max_age);
		return 0;
	}
	rc = refresh_opts(&o, &m, dist, sizeof(dist), mirror, sizeof(mirror), include, sizeof(include), variant,
			  sizeof(variant), err);
	if (rc)
		return rc;
	o.name = name;
	o.force = true;
	o.quiet = quiet;
	if (!quiet)
		fprintf(stderr, "alts-image: refreshing '%s' (built %s from %s)\n", name, m.created, m.source);
	return image_build(&o, err);
}
