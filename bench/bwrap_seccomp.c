/*
 * Writes the alts sandbox's compiled seccomp filter (BPF) to stdout for
 * `bwrap --seccomp FD` in bench/sandbox.sh, so that bwrap does the same
 * work as the sandbox it is compared with. The filter is the sandbox's own
 * (runners/sandbox_sec.c), not a copy of its deny-list.
 *
 * usage: bwrap_seccomp > filter.bpf        Exit status: 0, or 3 when the filter cannot be built.
 */
#include "framework/common.h"
#include "runners/sandbox_sec.h"

#include <stdio.h>

int main(void)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct sandbox_sec sec;
	size_t size;

	if (sandbox_sec_prepare(&sec, &err)) {
		fprintf(stderr, "bwrap_seccomp: %s\n", err.msg);
		return 3;
	}
	size = (size_t)sec.len * sizeof(*sec.filter);
	if (fwrite(sec.filter, 1, size, stdout) != size || fflush(stdout)) {
		fprintf(stderr, "bwrap_seccomp: cannot write the filter\n");
		sandbox_sec_release(&sec);
		return 3;
	}
	sandbox_sec_release(&sec);
	return 0;
}
