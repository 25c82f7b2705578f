#ifndef ALTS_IMAGE_H
#define ALTS_IMAGE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The image cache: read-only root filesystems, one per distribution,
 * version and architecture, that sandboxes mount as their lower layer.
 *
 *   <cache>/<name>/rootfs/      the tree
 *   <cache>/<name>/meta.json    {"name","dist_name","dist_version","arch",
 *                                "package_manager","created","source"}
 *   <cache>/<name>.lock         flock()ed while the image is built, imported or removed
 *   <cache>/<name>.users        flock(LOCK_SH)ed by every sandbox using it (image_hold)
 *
 * An image is built in <cache>/.tmp-<name>-XXXXXX and renamed into place
 * only when complete, so a half-built image is never used; a replaced or
 * removed one is renamed to <cache>/.old-<name>-XXXXXX before it is
 * deleted. Such directories left by a killed process are removed by the
 * next build or import of that name, and by image_sweep().
 */

struct image_meta {
	char name[128];
	char dist_name[64];
	char dist_version[32];
	char arch[32];
	char package_manager[16];
	char created[32];   /* ISO 8601 UTC */
	char source[512];
	char definition[512]; /* the definition file of a dnf-built image, else "" */
};

#define IMAGE_DEFAULT_CACHE "/var/cache/alts/images"

/* The cache directory: $ALTS_IMAGE_CACHE, else IMAGE_DEFAULT_CACHE. Borrowed. */
const char *image_cache_dir(void);

/* True when name is a safe image name: [a-z0-9][a-z0-9._-]*, at most 100 bytes. */
bool image_name_ok(const char *name);

/*
 * The image for a distribution: "<dist_name>-<dist_version>" (arch added
 * as "-<arch>" when given and not the host's). Writes into buf.
 */
void image_name_for(char *buf, size_t size, const char *dist_name, const char *dist_version, const char *arch);

/* Reads an image's metadata. ALTS_ENOTFOUND when there is no such image. */
int image_open(struct image_meta *out, const char *name, struct alts_err *err);

/* Path of an image's root tree, in buf. */
void image_rootfs(char *buf, size_t size, const char *name);

struct image_build_opts {
	const char *name;        /* e.g. debian-12, debian-12-rpm */
	const char *dist;        /* NAME-VERSION to debootstrap (debian-12); NULL: the image name */
	const char *mirror;      /* NULL: from the host's apt sources, else deb.debian.org */
	const char *include;     /* extra packages, comma-separated; NULL: the default set */
	const char *variant;     /* debootstrap --variant; NULL: minbase */
	const char *definition;  /* a dnf image definition file (runners/image_def.h); NULL: NAME.yaml
				    in the definition directories when there is one, else debootstrap */
	bool force;              /* rebuild when it exists */
	bool quiet;
};

/*
 * Builds an image with debootstrap (Debian and Ubuntu). Every option is
 * validated first: a bad name, dist, mirror, include list or variant is
 * ALTS_EINVALID before anything is written. meta.json records the
 * distribution of the tree's os-release (the dist's version when the tree
 * has none, as in sid), not the image name. An existing image is kept
 * (returns 0) unless force is set; an existing one of another distribution
 * is ALTS_EINVALID. A failed build keeps its directory for inspection
 * until the next build or import of the name.
 */
int image_build(const struct image_build_opts *opts, struct alts_err *err);

/*
 * Whether this host runs programs of arch (a dnf or uname name: x86_64,
 * x86_64_v2, aarch64, ppc64le, s390x, i686 ...): natively, through a
 * registered and enabled qemu-user binfmt_misc handler
 * (/proc/sys/fs/binfmt_misc/qemu-NAME; $ALTS_BINFMT_DIR replaces the
 * directory for tests), or not at all. NULL or "" is the host's.
 */
enum { IMAGE_ARCH_NO, IMAGE_ARCH_NATIVE, IMAGE_ARCH_EMULATED };
int image_arch_support(const char *arch);

/* 0 when image_arch_support() is not IMAGE_ARCH_NO, else ALTS_EINVALID saying why and what to install. */
int image_arch_check(const char *arch, struct alts_err *err);

/* Validates build options without building; ALTS_EINVALID with the reason. */
int image_build_check(const struct image_build_opts *opts, struct alts_err *err);

/*
 * Imports a root filesystem tarball (.tar, .tar.gz, .tar.xz, .tar.zst,
 * .tar.bz2) as image name; dist, version and package manager come from
 * its os-release. ALTS_EINVALID when the name is bad, the file is missing
 * or not a tar archive, the tree has no os-release, or the image exists
 * and force is not set (a concurrent import of the same name waits for
 * the first and then fails so). Nothing is left in the cache on failure.
 */
int image_import(const char *name, const char *tarball, bool force, struct alts_err *err);

/* Seconds since the image was built (meta.json's created), or -1 when that is unreadable. */
double image_age(const struct image_meta *m);

/*
 * Rebuilds an image the way it was built: from its definition file
 * (meta.json's "definition") or with the debootstrap options recorded in
 * its "source". The new tree is built beside the old one, which serves
 * until the new one is swapped in (see image_build's force). max_age > 0:
 * only when the image is older than that many seconds (else returns 0 at
 * once). ALTS_EINVALID for an imported image: there is nothing to rebuild
 * it from.
 */
int image_refresh(const char *name, double max_age, bool quiet, struct alts_err *err);

/*
 * Marks an image as in use until image_release(): a shared flock() on
 * <cache>/<name>.users. A refresh swaps the new tree in at once but
 * removes the old one only when nobody holds the image (else the next
 * build or sweep does), so a running sandbox never loses its lower layer.
 * Returns the fd, or -1 when the mark could not be made (the image is
 * still usable).
 */
int image_hold(const char *name);
void image_release(int fd);

/* Removes an image. ALTS_ENOTFOUND when it does not exist. */
int image_remove(const char *name, struct alts_err *err);

/*
 * Removes what killed builds, imports and removals left in the cache
 * (.tmp-NAME-* and .old-NAME-* whose NAME.lock nobody holds). Returns how
 * many directories were removed, or a negative code.
 */
int image_sweep(struct alts_err *err);

/* Calls fn for every complete image, sorted by name. */
int image_list(int (*fn)(const struct image_meta *m, void *payload), void *payload, struct alts_err *err);

#endif
