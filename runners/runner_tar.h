#ifndef ALTS_RUNNER_TAR_H
#define ALTS_RUNNER_TAR_H

/*
 * The host's half of copies that travel as tar streams (the ssh and
 * docker runners): the host's tar binary, run with an argv. Archives hold
 * one top entry, "./NAME", so that names starting with '-' stay names.
 */

/* Splits path into its directory and last component (trailing slashes dropped). ALTS_EINVALID for "/" or "". */
int runner_tar_split(char *dir, size_t dir_size, char *base, size_t base_size, const char *path,
		     struct alts_err *err);

/* Packs host_path (file, directory or symlink, recursively) into tar_path as ./basename(host_path). */
int runner_tar_pack(const char *tar_path, const char *host_path, struct alts_err *err);

/*
 * Unpacks tar_path, whose top entry is ./name, the way `cp -a` copies:
 * into host_path when it is a directory, else as host_path itself (made
 * in a temporary directory beside it, then renamed).
 */
int runner_tar_unpack(const char *tar_path, const char *name, const char *host_path, struct alts_err *err);

/*
 * Runs argv (a host tool) with stdin/stdout from files (NULL: /dev/null,
 * discard); a non-zero exit becomes ALTS_EENV with the tool's stderr in
 * the message, after "cannot <what>".
 */
int runner_tar_tool(const char *const *argv, const char *stdin_path, const char *stdout_path, const char *what,
		    struct alts_err *err);

#endif
