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
 *   <cache>/<name>.lock         flock()ed while the image is built or removed
 *
 * An image is built in <cache>/.tmp-<name>-XXXXXX and renamed into place
 * only when complete, so a half-built image is never used.
 */

struct image_meta {
	char name[128];
	char dist_name[64];
	char dist_version[32];
	char arch[32];
	char package_manager[16];
	char created[32];   /* ISO 8601 UTC */
	char source[512];
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
	const char *name;        /* e.g. debian-12 */
	const char *mirror;      /* NULL: from the host's apt sources, else deb.debian.org */
	const char *include;     /* extra packages, comma-separated; NULL: the default set */
	const char *variant;     /* debootstrap --variant; NULL: minbase */
	bool force;              /* rebuild when it exists */
	bool quiet;
};

/* Builds an image with debootstrap (Debian and Ubuntu names). */
int image_build(const struct image_build_opts *opts, struct alts_err *err);

/*
 * Imports a root filesystem tarball (.tar, .tar.gz, .tar.xz, .tar.zst) as
 * image name; dist, version and package manager come from its os-release.
 */
int image_import(const char *name, const char *tarball, bool force, struct alts_err *err);

/* Removes an image. ALTS_ENOTFOUND when it does not exist. */
int image_remove(const char *name, struct alts_err *err);

/* Calls fn for every complete image, sorted by name. */
int image_list(int (*fn)(const struct image_meta *m, void *payload), void *payload, struct alts_err *err);

#endif
