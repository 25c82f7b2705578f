#!/usr/bin/env bash
# alts as a system package: from a clean copy of the tree, dpkg-buildpackage builds alts,
# alts-scheduler and alts-worker; lintian finds nothing unexplained; every program has a
# man page listing the options of its --help, and bash completion that matches it; the
# systemd units pass systemd-analyze verify; the RPM spec parses; and the dogfood suite
# (packaging/dogfood/alts-deb.yaml) installs, launches, verifies, uses, removes and purges
# the packages in a Debian 12 sandbox, run by the tree's alts-run.
#
# The package build is the same whatever build tree runs the test, so the ASan build skips
# it (exit 77) and the plain build runs it. Without network access to deb.debian.org (the
# packages' libraries come from there) the dogfood part is skipped and the test exits 77
# once everything else passed.
. "$(dirname "$0")/lib/sandbox.sh"
need_cmd dpkg-buildpackage dh lintian systemd-analyze help2man python3 git
BUILD_DIR=${ALTS_BUILD_DIR:?}
if grep -q '^ALTS_SANITIZE:BOOL=ON' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null; then
	skip_test "the package build does not depend on the build tree: the plain build runs it"
fi
PROGRAMS=(alts-run alts-image alts-submit alts-scheduler alts-worker alts-token)

# ---- dpkg-buildpackage from a clean copy (tracked and new files, no build trees) ----
src=$SCRATCH/src/alts
mkdir -p "$src"
(cd "$ALTS_SOURCE_DIR" && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$src")
cmake_args=()
# The Swagger UI the build tree fetched with npm; without it the package build runs npm ci.
ui=$BUILD_DIR/swagger-ui/node_modules/swagger-ui-dist
[ -f "$ui/swagger-ui-bundle.js" ] && cmake_args+=("-DALTS_SWAGGER_UI_DIST=$ui")
command -v ccache >/dev/null 2>&1 && cmake_args+=(-DCMAKE_C_COMPILER_LAUNCHER=ccache)
start=$(date +%s)
if (cd "$src" && DEB_BUILD_OPTIONS="nocheck noautodbgsym parallel=2" ALTS_DEB_CMAKE_ARGS="${cmake_args[*]}" \
	dpkg-buildpackage -us -uc -b >"$SCRATCH/build.log" 2>&1); then
	ok "dpkg-buildpackage -us -uc -b builds the packages ($(( $(date +%s) - start )) s)"
else
	bad "dpkg-buildpackage -us -uc -b"; tail -30 "$SCRATCH/build.log"; finish; exit 1
fi
debs=$SCRATCH/src
for p in alts alts-scheduler alts-worker; do
	f=$(ls "$debs/${p}_"*.deb 2>/dev/null | head -1)
	check "binary package $p is built" test -s "$f"
done

# lintian takes a while: it runs beside the rest.
lintian -I --pedantic --fail-on error,warning,info,pedantic "$debs"/alts_*.changes >"$SCRATCH/lintian.out" 2>&1 &
lintian_pid=$!

root=$SCRATCH/root
mkdir -p "$root"
for f in "$debs"/alts*_*.deb; do
	case $f in *-dbgsym_*) continue ;; esac
	dpkg-deb -x "$f" "$root"
done

# ---- what the packages hold ----
deps=$(dpkg-deb -f "$debs"/alts-scheduler_*.deb Depends)
check "alts-scheduler depends on its libraries and on alts" \
	grep -Eq '^alts \(= .*libjwt.*libmicrohttpd.*libsqlite3' <<<"$deps"
check "alts-worker does not pull the scheduler's libraries (no libjwt, libmicrohttpd)" \
	bash -c '! dpkg-deb -f "$1" Depends | grep -Eq "libjwt|libmicrohttpd"' _ "$debs"/alts-worker_*.deb
check "conffiles: /etc/alts/alts.yaml and farm.yaml" \
	bash -c 'dpkg-deb -I "$1" conffiles | sort | tr "\n" " " | grep -qx "/etc/alts/alts.yaml /etc/alts/farm.yaml "' \
	_ "$debs"/alts_*.deb
check "no unit is enabled or started by the maintainer scripts" \
	bash -c '! dpkg-deb -I "$1" postinst | grep -Eq "deb-systemd-invoke (start|restart)|systemctl.*(start|enable)"' \
	_ "$debs"/alts-scheduler_*.deb
for p in "${PROGRAMS[@]}"; do
	check "$p is packaged, with a man page and bash completion" test -x "$root/usr/bin/$p" -a \
		-s "$root/usr/share/man/man1/$p.1.gz" -a -s "$root/usr/share/bash-completion/completions/$p"
done
check "alts-suite(5) and alts-checks(5)" test -s "$root/usr/share/man/man5/alts-suite.5.gz" -a \
	-s "$root/usr/share/man/man5/alts-checks.5.gz"
check "man pages render without warnings" bash -c \
	'for f in "$1"/usr/share/man/man*/*.gz; do w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$f" 2>&1 >/dev/null); [ -z "$w" ] || { echo "$f: $w"; exit 1; }; done' \
	_ "$root"

# ---- man pages and completion agree with --help ----
if python3 "$ALTS_SOURCE_DIR/tests/tools/man_vs_help.py" "$root/usr/bin" "$root/usr/share/man/man1" \
	"${PROGRAMS[@]}" >"$SCRATCH/man.out" 2>&1; then
	ok "man pages list the options of --help ($(grep -c '^ok' "$SCRATCH/man.out") programs)"
else
	bad "man pages list the options of --help"; cat "$SCRATCH/man.out"
fi
# A man page missing an option is caught.
mkdir -p "$SCRATCH/badman"
zcat "$root/usr/share/man/man1/alts-run.1.gz" | grep -v -- 'keep\\-env' >"$SCRATCH/badman/alts-run.1"
check "a man page without --keep-env is reported" bash -c \
	'! python3 "$1" "$2" "$3" alts-run | grep -q "^ok"' _ "$ALTS_SOURCE_DIR/tests/tools/man_vs_help.py" \
	"$root/usr/bin" "$SCRATCH/badman"
check "bash completion matches every program's --help" python3 "$ALTS_SOURCE_DIR/packaging/gen-completion.py" \
	--check "$root/usr/bin" "$root/usr/share/bash-completion/completions/alts-run"
check "bash completion completes options, values and subcommands" bash -c '
	. "$1"/usr/share/bash-completion/completions/alts-run
	COMP_WORDS=(alts-run --kee); COMP_CWORD=1; _alts_run; [ "${COMPREPLY[*]}" = --keep-env ] || exit 1
	COMP_WORDS=(alts-run --runner sa); COMP_CWORD=2; _alts_run; [ "${COMPREPLY[*]}" = sandbox ] || exit 1
	COMP_WORDS=(alts-image bu); COMP_CWORD=1; _alts_image; [ "${COMPREPLY[*]}" = build ] || exit 1
	COMP_WORDS=(alts-worker --con); COMP_CWORD=1; _alts_worker; [ "${COMPREPLY[*]}" = "--config --concurrency" ]' _ "$root"

# ---- systemd units: the packaged files, with ExecStart= pointing into the unpacked tree ----
mkdir -p "$SCRATCH/units"
for u in alts-scheduler.service alts-worker@.service; do
	sed "s|/usr/bin/alts|$root/usr/bin/alts|g" "$root/lib/systemd/system/$u" >"$SCRATCH/units/$u"
done
if out=$(cd "$SCRATCH/units" && systemd-analyze verify --man=no alts-scheduler.service alts-worker@.service 2>&1) &&
	[ -z "$out" ]; then
	ok "systemd-analyze verify: both units clean"
else
	bad "systemd-analyze verify: $out"
fi
check "the scheduler is Type=notify, runs as alts, hardened" grep -qzE \
	'Type=notify.*User=alts.*NoNewPrivileges=yes.*ProtectSystem=strict' "$root/lib/systemd/system/alts-scheduler.service"
score=$(systemd-analyze security --offline=yes "$SCRATCH/units/alts-scheduler.service" 2>/dev/null |
	sed -n 's/.*Overall exposure level for alts-scheduler.service: \([0-9.]*\).*/\1/p')
check "systemd-analyze security rates the scheduler's unit OK (exposure $score < 3)" \
	awk -v s="$score" 'BEGIN { exit !(s != "" && s < 3) }'

# ---- the RPM spec (building it is a smoke test run by hand: docs/operations.md) ----
if command -v rpmspec >/dev/null 2>&1; then
	check "packaging/alts.spec parses (rpmspec -P)" bash -c \
		'rpmspec -P "$1" >/dev/null' _ "$ALTS_SOURCE_DIR/packaging/alts.spec"
fi

# ---- dogfood: alts tests its own packages in a sandbox ----
dogfood_skipped=
if ! curl -sfI --max-time 15 http://deb.debian.org/debian/dists/bookworm/InRelease >/dev/null 2>&1; then
	echo "# deb.debian.org is not reachable: the dogfood suite is skipped"
	dogfood_skipped=1
else
	ensure_image
	suite=$SCRATCH/dogfood
	mkdir -p "$suite/debs"
	cp -r "$ALTS_SOURCE_DIR/packaging/dogfood/." "$suite/"
	for p in alts alts-scheduler alts-worker; do cp "$debs/${p}_"*_*.deb "$suite/debs/$p.deb"; done
	start=$(date +%s)
	if "$ALTS_RUN" --artifacts "$SCRATCH/dogfood-artifacts" --junit "$SCRATCH/dogfood.xml" \
		"$suite/alts-deb.yaml" >"$SCRATCH/dogfood.out" 2>&1; then
		ok "dogfood: alts-deb.yaml passes in a sandbox ($(grep -Eo '^[0-9]+ passed' "$SCRATCH/dogfood.out" | tail -1) checks, $(( $(date +%s) - start )) s)"
	else
		bad "dogfood: alts-deb.yaml"; cat "$SCRATCH/dogfood.out"
		for f in "$SCRATCH"/dogfood-artifacts/*/logs/*; do
			grep -q . "$f" && { echo "--- $f"; tail -15 "$f"; }
		done
	fi
	check "dogfood: no sandbox left behind" no_leftovers
fi

if wait "$lintian_pid"; then
	ok "lintian: clean (overrides are explained in debian/*.lintian-overrides)"
else
	bad "lintian"; cat "$SCRATCH/lintian.out"
fi
finish || exit 1
[ -z "$dogfood_skipped" ] || exit 77
