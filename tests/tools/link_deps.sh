#!/usr/bin/env bash
# Asserts which shared libraries a program loads at start-up (ldd: the whole
# tree, as the dynamic loader resolves it). Start-up time is mostly library
# loading: libcurl alone pulls ~30 libraries (~16 ms), so the programs that do
# not speak HTTP must not load it (the docker runner dlopens it on demand,
# runners/curl_lib.c).
#
# usage: link_deps.sh PROGRAM:LIB[,LIB...] ...
#   each LIB is a library name prefix that PROGRAM must NOT load (libcurl matches libcurl.so.4).
# Exit status: 0 all clean, 1 a program loads a library it must not, 2 usage or ldd failure.
set -u -o pipefail

[ $# -gt 0 ] || { sed -n '8,10s/^# \{0,1\}//p' "$0" >&2; exit 2; }
status=0
for spec in "$@"; do
	prog=${spec%%:*}
	banned=${spec#*:}
	[ "$prog" != "$spec" ] && [ -n "$banned" ] || { echo "link_deps.sh: bad argument '$spec'" >&2; exit 2; }
	[ -x "$prog" ] || { echo "link_deps.sh: no program '$prog'" >&2; exit 2; }
	if ! libs=$(ldd "$prog" 2>&1); then
		echo "link_deps.sh: ldd '$prog' failed: $libs" >&2
		exit 2
	fi
	# First field of each line: the library's soname (or the loader's path).
	names=$(awk '{ n = $1; sub(".*/", "", n); print n }' <<<"$libs")
	IFS=, read -r -a list <<<"$banned"
	for lib in "${list[@]}"; do
		if hit=$(grep -E "^${lib}[.-]" <<<"$names"); then
			echo "FAIL: $(basename "$prog") loads $(tr '\n' ' ' <<<"$hit")(must not load $lib)"
			status=1
		else
			echo "ok: $(basename "$prog") does not load $lib"
		fi
	done
	echo "  $(basename "$prog"): $(wc -l <<<"$names") libraries"
done
exit $status
