#ifndef ALTS_PKG_LIFE_H
#define ALTS_PKG_LIFE_H

/*
 * Package-manager knowledge for a package's whole life (upgrade,
 * downgrade, purge, leftovers): the argv of the extra queries and the
 * parsers of their answers. Like checks/pkg.h, nothing here runs a
 * command; see docs/checks.md (upgrade, uninstall: purge).
 */

#include <stdbool.h>
#include <stddef.h>

#include "checks/pkg.h"

/*
 * True when the installed version (as pkg_query_parse() gives it:
 * "[epoch:]version[-release]") is the requested one: equal, or equal
 * once the release is left out ("2.0" matches rpm's "2.0-1"), or once
 * a "0:" / unrequested epoch is left out.
 */
bool pkg_version_matches(const char *installed, const char *requested);

/*
 * Purges names[0..n): apt-get purge, dpkg --purge, and for rpm the same
 * as a removal (rpm -e, dnf remove: rpm has no purge; %config files a
 * user changed are kept as .rpmsave, which the leftovers walk reports).
 */
int pkg_purge_cmd(struct pkg_cmd *out, const struct pkg_mgr *m, const char *const *names, size_t n,
		  struct alts_err *err);

/* The version inside a package file: dpkg-deb -f FILE Version / rpm -qp --qf ... FILE. */
int pkg_file_version_cmd(struct pkg_cmd *out, const struct pkg_mgr *m, const char *file, struct alts_err *err);

/*
 * Where the installed name came from: apt-cache policy NAME, or
 * dnf repoquery --installed --qf '%{from_repo}' NAME (yum: yumdb info is
 * not asked; ALTS_ENOTFOUND for yum and the low-level tools).
 */
int pkg_origin_cmd(struct pkg_cmd *out, const struct pkg_mgr *m, const char *name, struct alts_err *err);

/*
 * The origins of the installed version in the answer of pkg_origin_cmd(),
 * space-separated, in arena a: apt's sources of the "***" version without
 * /var/lib/dpkg/status ("" when only the status file lists it: a package
 * file), dnf's repository id ("alts-local", "@commandline"). NULL on OOM
 * or when the answer says nothing.
 */
const char *pkg_origin_parse(const struct pkg_mgr *m, const char *text, struct arena *a);

/*
 * A package's conffiles: dpkg-query -W -f '${Conffiles}\n' NAME (path and
 * the md5 it was shipped with) or rpm -qc NAME (paths only).
 */
int pkg_conffiles_cmd(struct pkg_cmd *out, const struct pkg_mgr *m, const char *name, struct alts_err *err);
/* Paths from that answer (obsolete dpkg conffiles left out), in arena a. */
int pkg_conffiles_parse(struct strlist *out, const char *text, struct arena *a);

/*
 * Makes one new repository known, without fetching the others again:
 * apt-get update -o Dir::Etc::sourcelist=LIST -o Dir::Etc::sourceparts=-
 * -o APT::Get::List-Cleanup=0 (LIST: pkg_repo_file()'s path). An empty
 * command (argc 0) for managers that read repositories on their own.
 * The image's own index is refreshed by install's index_max_age rule.
 */
int pkg_refresh_list_cmd(struct pkg_cmd *out, const struct pkg_mgr *m, const char *list, struct alts_err *err);

/*
 * The package manager's real reason for a failure: the lines of out and
 * err (either may be NULL) that say why (dpkg's "error processing ...:"
 * with its explanation, "subprocess ... returned error exit status",
 * "Refusing to remove ...", rpm's scriptlet errors, apt's "E: " lines,
 * dnf's "Error: " ...), most telling first, up to max lines joined with
 * " | ", in arena a. NULL when no line looks like a reason.
 */
const char *pkg_failure_reason(const char *out, const char *err, size_t max, struct arena *a);

#endif
