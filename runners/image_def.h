#ifndef ALTS_IMAGE_DEF_H
#define ALTS_IMAGE_DEF_H

#include <stdbool.h>
#include <stddef.h>

#include "framework/arena.h"
#include "framework/conf.h"
#include "framework/sbuf.h"

/*
 * Image definitions: how `alts-image build NAME` makes an image of a
 * dnf-based distribution (AlmaLinux, and any other) with
 * `dnf --installroot`. A definition is a YAML file:
 *
 *   dist_name: almalinux            # meta.json's dist_name (queues use it)
 *   dist_version: "9"               # meta.json's dist_version
 *   arch: x86_64                    # optional: the host's architecture
 *   releasever: "9"                 # optional: dist_version
 *   release_package: almalinux-release
 *   packages: [bash, coreutils, dnf, rpm]
 *   gpgcheck: true                  # the default; per repository too
 *   gpg_keys: [https://repo.almalinux.org/almalinux/RPM-GPG-KEY-AlmaLinux-9]
 *   rpm_dbpath: /var/lib/rpm        # where the image's rpm keeps its database
 *   repositories:
 *     - name: baseos
 *       baseurl: https://repo.almalinux.org/almalinux/$releasever/BaseOS/$basearch/os/
 *       mirrorlist: https://mirrors.almalinux.org/mirrorlist/$releasever/baseos
 *
 * Shipped definitions live in IMAGE_DEF_SHIPPED_DIR (configs/images/ in
 * the tree), the administrator's in IMAGE_DEF_ETC_DIR; the first holding
 * NAME.yaml wins, /etc first. $ALTS_IMAGE_DEFINITIONS (directories
 * separated by ':') replaces both.
 */

#define IMAGE_DEF_ETC_DIR "/etc/alts/images"
#ifndef IMAGE_DEF_SHIPPED_DIR
#define IMAGE_DEF_SHIPPED_DIR "/usr/share/alts/images"
#endif

struct image_def_repo {
	const char *name;
	const char *baseurl;        /* NULL when only a mirrorlist is given */
	const char *mirrorlist;
	struct strlist gpg_keys;    /* empty: the definition's gpg_keys */
	bool gpgcheck;              /* the definition's gpgcheck unless set */
	bool enabled;               /* true unless set */
	struct conf_loc loc;
};

struct image_def {
	struct arena *arena;        /* everything below lives in it */
	const char *path;
	const char *dist_name;
	const char *dist_version;
	const char *arch;           /* NULL: the host's */
	const char *releasever;     /* dist_version unless set */
	const char *release_package;
	const char *module_platform_id;
	const char *rpm_dbpath;
	struct strlist packages;
	struct strlist gpg_keys;
	bool gpgcheck;
	bool install_weak_deps;
	bool nodocs;
	struct image_def_repo *repos;
	size_t nrepos;
};

/*
 * Loads the definition at path. Every problem (syntax, an unknown key, a
 * wrong type, a missing key, a bad value) is ALTS_EINVALID with
 * "path:line:col: key: message". *out is freed with image_def_free().
 */
int image_def_load(struct image_def **out, const char *path, struct alts_err *err);

/* The same from memory; label names it in messages. */
int image_def_load_buffer(struct image_def **out, const char *label, const char *data, size_t len,
			  struct alts_err *err);

void image_def_free(struct image_def *def);

/*
 * Finds NAME.yaml in the definition directories (see above); writes its
 * path to buf. ALTS_ENOTFOUND when there is none (then NAME is built the
 * Debian way, with debootstrap).
 */
int image_def_find(char *buf, size_t size, const char *name, struct alts_err *err);

/*
 * The dnf configuration for a build: a [main] section (gpgcheck,
 * weak dependencies, docs, no reposdir so the host's repositories stay
 * out) and one section per repository. Appended to out.
 */
void image_def_dnf_conf(struct sbuf *out, const struct image_def *def);

/*
 * The dnf command line for a build into installroot with the
 * configuration at conf_path: a NULL-terminated argv allocated in the
 * definition's arena. forcearch: pass --forcearch=ARCH (a foreign
 * architecture run through qemu-user); NULL when native.
 */
const char **image_def_dnf_argv(const struct image_def *def, const char *conf_path, const char *installroot,
				const char *forcearch);

#endif
