#ifndef ALTS_FS_H
#define ALTS_FS_H

#include <sys/types.h>

/* Small filesystem helpers shared by the core, runners and the image cache. */

/* Creates path and its missing parents (mode for the last one); existing directories are fine. */
int fs_mkdir_p(const char *path, mode_t mode, struct alts_err *err);

/* Removes a directory tree without crossing mount points; 0 or a negative errno. */
int fs_remove_tree(const char *path);

#endif
