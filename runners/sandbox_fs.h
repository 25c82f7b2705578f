#ifndef ALTS_SANDBOX_FS_H
#define ALTS_SANDBOX_FS_H

#include "framework/err.h"

#include <stdint.h>

/*
 * Copies between the host and a sandbox's tree without ever leaving it:
 * every path inside is resolved with openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS) from root_fd, the sandbox's root directory, so
 * symbolic links and '..' planted by the sandbox resolve inside it. Trees
 * are copied entry by entry through directory descriptors; symbolic links
 * are copied as links and never followed, special files are skipped.
 * Semantics of cp -a: a destination that is a directory receives the
 * source under its own name; missing parent directories of a copy-in's
 * destination are made. Out of the sandbox, setuid and setgid bits are
 * dropped, the copy is ours (not the sandbox uid's) and at most
 * sandbox_fs__copy_out_max bytes are written per copy.
 */
int sandbox_fs_copy_in(int root_fd, const char *host_path, const char *env_path, struct alts_err *err);
int sandbox_fs_copy_out(int root_fd, const char *env_path, const char *host_path, struct alts_err *err);
/* The byte budget of one sandbox_fs_copy_out (4 GiB; tests lower it). */
extern uint64_t sandbox_fs__copy_out_max;
/* Opens path inside the sandbox (O_PATH when flags is 0). -errno on failure. */
int sandbox_fs_open(int root_fd, const char *path, int flags);

#endif
