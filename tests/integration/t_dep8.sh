#!/usr/bin/env bash
# DEP-8 (autopkgtest) suites run natively by the dep8 check, in a Debian 12 sandbox with real
# apt and packages built here (a local flat repository; no network): a source tree written by
# the test whose debian/tests/control uses every field and restriction (Tests, Test-Command,
# Tests-Directory, Depends with @, @builddeps@, @recommends@, alternatives, versions, arch
# qualifiers and build profiles, Restrictions, Features, Classes, Architecture). Each test is one
# part in TAP, JUnit and JSON, with autopkgtest's environment and verdicts; the same tree from a
# git clone under the `autopkgtest:` alias; a table of malformed control files, each exit 2 with
# file:line before anything runs.
. "$(dirname "$0")/lib/sandbox.sh"
need_cmd dpkg-deb dpkg-scanpackages git jq xmllint
ensure_image

repo=$SCRATCH/repo
mkdir -p "$repo"
# mkdeb NAME [CONTROL-LINE...]: an arch-all package with /usr/bin/NAME printing its greeting.
mkdeb() {
	local name=$1 root
	shift
	root=$(mktemp -d)
	mkdir -p "$root/DEBIAN" "$root/usr/bin"
	printf '#!/bin/sh\necho "Hello from %s"\n' "$name" >"$root/usr/bin/$name"
	chmod 0755 "$root/usr/bin/$name"
	{
		printf 'Package: %s\nArchitecture: all\n' "$name"
		case " $* " in *" Version: "*) ;; *) printf 'Version: 1.0\n' ;; esac
		printf 'Maintainer: alts tests <alts@example.invalid>\nDescription: %s, made by the alts tests\n' "$name"
		for l in "$@"; do printf '%s\n' "$l"; done
	} >"$root/DEBIAN/control"
	dpkg-deb --root-owner-group --build "$root" "$repo/${name}_1.0_all.deb" >/dev/null
	rm -rf "$root"
}
mkdeb alts-dep8-hello
mkdeb alts-dep8-dep
mkdeb alts-dep8-alt
mkdeb alts-dep8-builddep
mkdeb alts-dep8-iso
mkdeb alts-dep8-extra
mkdeb alts-dep8-recd
mkdeb alts-dep8-parent "Recommends: alts-dep8-recd"
mkdeb alts-dep8-binrec
# @builddeps@ always brings build-essential: a stand-in, so the build needs no network.
mkdeb build-essential "Version: 99"
have_sudo=no
if (cd "$repo" && timeout 60 apt-get download -q sudo >/dev/null 2>&1); then have_sudo=yes; fi
make_repo "$repo"

tree=$SCRATCH/suite/tree
mkdir -p "$tree/debian/tests" "$tree/upstream/t"
cat >"$tree/debian/control" <<'EOF'
Source: alts-dep8-hello
Build-Depends: alts-dep8-builddep, nothing-on-amd64 [i386], nothing-with-nocheck <nocheck>

Package: alts-dep8-hello
Architecture: all
Recommends: alts-dep8-binrec

Package: alts-dep8-i386-only
Architecture: i386
EOF
cat >"$tree/debian/rules" <<'EOF'
#!/bin/sh
# debian/rules build: enough of a build for build-needed.
[ "$1" = build ] && echo built >built-stamp
EOF
cat >"$tree/debian/tests/control" <<'EOF'
# DEP-8 control file of the alts test tree: one stanza per behaviour.
Tests: smoke
Restrictions: superficial

Tests: as-root
Depends: @, alts-dep8-dep (>= 1.0) | nothing-such,
 alts-dep8-alt [amd64 arm64 i386 armhf s390x ppc64el riscv64], nothing-on-this-arch [!amd64 !arm64 !i386 !armhf !s390x !ppc64el !riscv64],
 nothing-with-nocheck <nocheck>, alts-dep8-builddep <!nocheck>
Restrictions: needs-root

Tests: stderr-fails
Depends:

Tests: stderr-allowed, exit-fails
Depends:
Restrictions: allow-stderr

Tests: skip77
Depends:
Restrictions: skippable

Tests: flaky-one
Depends:
Restrictions: flaky

Test-Command: test "$(alts-dep8-dep)" = "Hello from alts-dep8-dep"
 && echo "command deps ok"
Depends: alts-dep8-dep
Features: test-name=command-deps

Test-Command: true
Classes: desktop, graphics-driver
Architecture: amd64 arm64 i386 armhf s390x ppc64el riscv64

Tests: other-arch
Architecture: !amd64 !arm64 !i386 !armhf !s390x !ppc64el !riscv64

Tests: magic
Restrictions: needs-magic

Tests: field
X-Unknown-Field: yes

Tests: machine
Restrictions: isolation-machine

Tests: reboot
Restrictions: needs-reboot

Tests: breaks
Restrictions: breaks-testbed, needs-root

Tests: container
Depends: alts-dep8-iso
Restrictions: isolation-container, needs-root

Tests: internet
Restrictions: needs-internet

Tests: hint
Depends: alts-dep8-dep
Restrictions: hint-testsuite-triggers

Tests: not-installable
Depends: nothing-such-package
Restrictions: skip-not-installable

Tests: uninstallable
Depends: nothing-such-package

Tests: rw-tree
Depends:
Restrictions: rw-build-tree, skip-foreign-architecture

Tests: built
Depends: @builddeps@
Restrictions: build-needed

Tests: recommends
Depends: alts-dep8-parent, @recommends@
Restrictions: needs-recommends

Tests: upstream
Tests-Directory: upstream/t
Depends:

Tests: subset-a
Depends: alts-dep8-extra, alts-dep8-dep

Tests: subset-b
Depends: alts-dep8-dep

Tests: after-reset
Depends:

Tests: sudo-user
Depends:
Restrictions: needs-sudo
EOF
t=$tree/debian/tests
cat >"$t/smoke" <<'EOF'
#!/bin/sh
set -e
alts-dep8-hello
[ "$(id -u)" != 0 ] || { echo "runs as root" >&2; exit 1; }
[ -d "$AUTOPKGTEST_TMP" ] && [ -z "$(ls -A "$AUTOPKGTEST_TMP")" ] && [ "$ADT_TMP" = "$AUTOPKGTEST_TMP" ]
touch "$AUTOPKGTEST_TMP/mine" "$HOME/mine"
[ -f debian/tests/control ] && [ -x debian/rules ]
[ "$ADT_ARTIFACTS" = "$AUTOPKGTEST_ARTIFACTS" ] && echo "artifact of smoke" >"$AUTOPKGTEST_ARTIFACTS/smoke.txt"
echo "arch=$AUTOPKGTEST_TESTBED_ARCH user=$(id -un)"
EOF
cat >"$t/as-root" <<'EOF'
#!/bin/sh
set -e
[ "$(id -u)" = 0 ] && [ -n "$AUTOPKGTEST_NORMAL_USER" ]
alts-dep8-hello; alts-dep8-dep; alts-dep8-alt; alts-dep8-builddep
# root's artifacts come out to the host: a setuid root shell must come out without its bits
cp /bin/dash "$AUTOPKGTEST_ARTIFACTS/rootsh" && chmod 6755 "$AUTOPKGTEST_ARTIFACTS/rootsh"
ln -s /etc/shadow "$AUTOPKGTEST_ARTIFACTS/shadow"
EOF
printf '#!/bin/sh\necho "a warning on stderr" >&2\n' >"$t/stderr-fails"
printf '#!/bin/sh\necho "a warning on stderr" >&2\n' >"$t/stderr-allowed"
printf '#!/bin/sh\necho "about to fail"\nexit 3\n' >"$t/exit-fails"
printf '#!/bin/sh\nexit 77\n' >"$t/skip77"
printf '#!/bin/sh\nexit 1\n' >"$t/flaky-one"
cat >"$t/breaks" <<'EOF'
#!/bin/sh
set -e
rm /usr/bin/alts-dep8-hello
echo broken >/var/tmp/alts-broken
echo "breaks ran" >"$AUTOPKGTEST_ARTIFACTS/breaks"
EOF
cat >"$t/container" <<'EOF'
#!/bin/sh
set -e
alts-dep8-iso
echo started >/etc/alts-container-marker
EOF
cat >"$t/after-reset" <<'EOF'
#!/bin/sh
set -e
alts-dep8-hello
[ ! -e /var/tmp/alts-broken ] && [ ! -e /etc/alts-container-marker ]
! command -v alts-dep8-iso >/dev/null || { echo "container's dependency still installed" >&2; exit 1; }
[ -s "$AUTOPKGTEST_ARTIFACTS/smoke.txt" ]
EOF
printf '#!/bin/sh\nset -e\nalts-dep8-extra\nalts-dep8-dep\n' >"$t/subset-a"
cat >"$t/subset-b" <<'EOF2'
#!/bin/sh
set -e
alts-dep8-dep
! command -v alts-dep8-extra >/dev/null || { echo "subset-a's alts-dep8-extra is still installed" >&2; exit 1; }
EOF2
for n in other-arch magic field machine reboot internet hint not-installable uninstallable; do
	printf '#!/bin/sh\necho "%s ran" >"$AUTOPKGTEST_ARTIFACTS/%s"\n' "$n" "$n" >"$t/$n"
done
printf '#!/bin/sh\nset -e\n[ "$(id -u)" != 0 ]\necho rw >debian/rw-written\n' >"$t/rw-tree"
printf '#!/bin/sh\nset -e\n[ "$(cat built-stamp)" = built ]\n' >"$t/built"
printf '#!/bin/sh\nset -e\nalts-dep8-recd\nalts-dep8-binrec\n' >"$t/recommends"
printf '#!/bin/sh\nset -e\n[ "$(id -u)" != 0 ]\n[ "$(sudo -n id -u)" = 0 ]\n' >"$t/sudo-user"
chmod +x "$t"/* "$tree/debian/rules"
# Not executable: autopkgtest applies chmod a+x itself.
printf '#!/bin/sh\necho "upstream test in $(pwd)"\n' >"$tree/upstream/t/upstream"
[ "$have_sudo" = yes ] || sed -i '/^Tests: sudo-user/,$d' "$tree/debian/tests/control"
ntests=$(grep -cE '^(Tests|Test-Command):' "$tree/debian/tests/control")
ntests=$((ntests + 1))  # "Tests: stderr-allowed, exit-fails" names two

# The same tree in a git repository, for the git source and the alias.
git -C "$SCRATCH" init -q -b main gitrepo
cp -a "$tree/." "$SCRATCH/gitrepo/"
git -C "$SCRATCH/gitrepo" add -A
git -C "$SCRATCH/gitrepo" -c user.name=t -c user.email=t@example.invalid commit -qm tree
chmod -R a+rX "$SCRATCH"

cat >"$SCRATCH/suite/s.yaml" <<YAML
name: dep8
environment: {runner: sandbox, image: $IMAGE}
packages: [alts-dep8-hello]
repositories:
  - {name: local, url: $repo}
checks:
  - install
  - dep8: {name: tree, path: tree}
  - autopkgtest: {name: from git, git: {url: $SCRATCH/gitrepo, ref: main}, tests: [smoke, command-deps]}
YAML
start=$(date +%s%N)
"$ALTS_RUN" --artifacts "$SCRATCH/art" --tap "$SCRATCH/s.tap" --junit "$SCRATCH/s.xml" --json "$SCRATCH/s.json" \
	"$SCRATCH/suite/s.yaml" >"$SCRATCH/out" 2>&1
status=$?
echo "# the suite took $(( ($(date +%s%N) - start) / 1000000 )) ms"
check "the suite fails, because of the failing tests (exit $status)" [ "$status" = 1 ]
sub() { jq -r --arg c "$1" --arg n "$2" '.. | objects | select(.name? == $c) | .. | objects | select(.name? == $n) | "\(.status) \(.message // "")"' "$SCRATCH/s.json" 2>/dev/null | head -1; }
expect() { local got; got=$(sub tree "$1"); check "$1: $2 ($got)" [ "$got" = "$2" ]; }
expect "smoke (superficial)" "pass "
expect as-root "pass "
expect stderr-fails "fail stderr: a warning on stderr"
expect stderr-allowed "pass "
expect exit-fails "fail non-zero exit status 3"
expect skip77 "skip skippable: the test exited with status 77"
expect flaky-one "xfail flaky: non-zero exit status 1"
expect command-deps "pass "
expect command1 "pass "
expect other-arch "skip Test declares architecture as not supported: $(dpkg --print-architecture)"
expect magic "skip unknown restriction needs-magic"
expect field "skip unknown field X-Unknown-Field"
expect machine "skip isolation-machine: the test needs a machine of its own (the ssh runner), not a container"
expect reboot "skip needs-reboot: the test reboots its machine; only the ssh runner gives a machine"
expect breaks "pass "
expect container "pass "
expect after-reset "pass "
expect subset-a "pass "
expect subset-b "pass "
expect internet "skip needs-internet: the sandbox has no internet access (environment.network is not 'host')"
expect hint "skip hint-testsuite-triggers: a hint for dpkg-source, not a test to run"
check "skip-not-installable: skipped, naming apt's reason" \
	bash -c "[[ '$(sub tree not-installable)' == 'skip skip-not-installable: cannot install the test dependencies: apt-get'* ]]"
check "an uninstallable dependency fails the test" \
	bash -c "[[ '$(sub tree uninstallable)' == 'fail cannot install the test dependencies: apt-get'* ]]"
expect rw-tree "pass "
expect built "pass "
expect recommends "pass "
expect upstream "pass "
[ "$have_sudo" = no ] || expect sudo-user "pass "
msg=$(jq -r '.. | objects | select(.name? == "tree") | .message' "$SCRATCH/s.json" | head -1)
check "the check's message counts the failures ($msg)" \
	bash -c '[[ "$1" == "3 of $2 tests failed: '"'stderr-fails' (stderr: a warning on stderr), 'exit-fails' (non-zero exit status 3), 'uninstallable' (cannot install the test dependencies: apt-get (exit 100): "'"* ]]' _ "$msg" "$ntests"
tap=$SCRATCH/s.tap
check "TAP: one line per DEP-8 test ($ntests)" [ "$(awk '/^    # Subtest: tree$/{f=1;next} /^(not )?ok [0-9]+ - /{f=0} f && /^    (not )?ok [0-9]+ - /' "$tap" | wc -l)" = "$ntests" ]
check "TAP: a skipped test says # SKIP and why" grep -q '^    ok [0-9]* - magic # SKIP unknown restriction needs-magic' "$tap"
check "JUnit: one testcase per DEP-8 test" [ "$(xmllint --xpath 'count(//testcase[contains(@classname, "tree") or contains(@name, "tree")])' "$SCRATCH/s.xml" 2>/dev/null)" -ge "$ntests" ]
check "JSON: one part per DEP-8 test" [ "$(jq '[.. | objects | select(.name? == "tree") | .subs // .parts // [] | length] | max' "$SCRATCH/s.json")" = "$ntests" ]
log=$(ls "$SCRATCH"/art/dep8/logs/*tree*.log | head -1)
check "the log has the test's output and the user it ran as" grep -q "user=alts-dep8" "$log"
check "'@' left out the binary not built on this architecture" bash -c "! grep -q 'alts:   alts-dep8-i386-only' '$log'"
check "arch qualifiers and build profiles were resolved before apt" \
	bash -c "grep -q 'alts:   alts-dep8-alt$' '$log' && ! grep -q nothing-on-this-arch '$log' && ! grep -q 'alts:   nothing-with-nocheck' '$log' && grep -q 'alts:   alts-dep8-builddep$' '$log'"
check "AUTOPKGTEST_ARTIFACTS were collected" grep -q "artifact of smoke" "$SCRATCH"/art/dep8/logs/*tree*-artifacts/smoke.txt
check "a setuid root artifact comes out to the host without setuid or setgid" \
	bash -c 'f=$(ls "$1"/art/dep8/logs/*tree*-artifacts/rootsh) && [ "$(stat -c %a "$f")" = 755 ]' _ "$SCRATCH"
check "an artifact link to /etc/shadow comes out as a link, unread" \
	bash -c 'f=$(ls -d "$1"/art/dep8/logs/*tree*-artifacts/shadow) && [ -L "$f" ]' _ "$SCRATCH"
check "skipped tests never ran" bash -c "! ls '$SCRATCH'/art/dep8/logs/*tree*-artifacts/ | grep -qE 'magic|machine|internet|hint|other-arch|field'"
check "breaks-testbed: its artifacts were collected before the reset" \
	grep -q "breaks ran" "$SCRATCH"/art/dep8/logs/*tree*-artifacts-breaks/breaks
check "a test whose dependencies shrink runs after a revert, as with autopkgtest" \
	grep -q "alts: reverting the environment to before the first test: the previous test's 'alts-dep8-extra' is not among this test's dependencies" "$log"
git_sub() { sub "from git" "$1"; }
check "git source under the autopkgtest alias: smoke passes" [ "$(git_sub "smoke (superficial)")" = "pass " ]
check "git source: command-deps passes" [ "$(git_sub command-deps)" = "pass " ]
check "git source: only the tests asked for" [ "$(jq '[.. | objects | select(.name? == "from git") | .subs // .parts // [] | length] | max' "$SCRATCH/s.json")" = 2 ]
check "nothing the tests wrote reached the host tree" [ ! -e "$tree/debian/rw-written" ] && [ ! -e "$tree/built-stamp" ]
# Where the sandbox cannot snapshot (a copy of the image), the revert cannot happen: the
# test's message says so, rather than the verdict silently differing from autopkgtest's.
cat >"$SCRATCH/suite/copy.yaml" <<YAML
name: dep8-copy
environment: {runner: sandbox, image: $IMAGE}
packages: [alts-dep8-hello]
repositories:
  - {name: local, url: $repo}
checks:
  - install
  - dep8: {name: copy, path: tree, tests: [subset-a, subset-b]}
YAML
ALTS_SANDBOX_MODE=copy "$ALTS_RUN" --json "$SCRATCH/copy.json" --tap "$SCRATCH/copy.tap" "$SCRATCH/suite/copy.yaml" \
	>"$SCRATCH/copy.out" 2>&1
status=$?
copy_sub=$(jq -r '.. | objects | select(.name? == "copy") | .. | objects | select(.name? == "subset-b") | "\(.status) \(.message // "")"' "$SCRATCH/copy.json" 2>/dev/null | head -1)
check "no snapshots: subset-b fails, saying autopkgtest would have reverted and why alts could not (exit $status: $copy_sub)" \
	bash -c '[ "$1" = 1 ] && [[ "$2" == "fail non-zero exit status 1 (note: autopkgtest would revert the testbed before this test (the previous test'"'"'s '"'"'alts-dep8-extra'"'"' is not among this test'"'"'s dependencies); this sandbox cannot snapshot: it is a copy of the image"* ]]' _ "$status" "$copy_sub"
check "no snapshots: the note is in the TAP output too" grep -q "note: autopkgtest would revert the testbed" "$SCRATCH/copy.tap"
check "no sandbox is left" no_leftovers
jq -r '.. | objects | select(.subs? and .name? == "tree") | .subs[] | "# \(.duration * 1000 | floor) ms \(.name)"' "$SCRATCH/s.json"
[ "$FAILED" = 0 ] || { sed 's/^/# /' "$SCRATCH/out" | tail -30; cp "$log" "${TMPDIR:-/tmp}/t_dep8-tree.log"; cp "$tap" "${TMPDIR:-/tmp}/t_dep8.tap"; }

# Malformed control files: each stops the suite at load (exit 2) with the file and line.
bad=$SCRATCH/bad
mkdir -p "$bad/tree/debian/tests"
cat >"$bad/s.yaml" <<YAML
name: bad
environment: {runner: sandbox, image: $IMAGE}
checks:
  - dep8: {path: tree}
YAML
ctl=$bad/tree/debian/tests/control
while IFS='|' read -r text line want; do
	printf '%b' "$text" >"$ctl"
	out=$("$ALTS_RUN" "$bad/s.yaml" 2>&1); st=$?
	check "malformed: $want (exit $st)" bash -c '[ "$1" = 2 ] && grep -qF -- "$2:$3: $4" <<<"$5"' _ "$st" "$ctl" "$line" "$want" "$out"
done <<'TABLE'
Tests: a\nnot a field\n|2|expected 'Field: value', got 'not a field'
 Tests: a\n|1|continuation line outside a field
Tests: a\ntests: b\n|2|duplicate field 'tests' (first on line 1)
Depends: a\n|1|missing "Tests" or "Test-Command" field
Tests: a\nTest-Command: true\n|2|only one of "Tests" or "Test-Command" may be given
Tests: ,\n|1|"Tests" field is empty
Test-Command: true\nFeatures: test-name\n|2|test-name feature with no argument
Test-Command: true\nFeatures: test-name=a, test-name=b\n|2|only one test-name feature allowed
Tests: a\nFeatures: test-name=b\n|2|test-name feature incompatible with Tests
Tests: a\nTests-Directory: ../../etc\n|2|Tests-Directory '../../etc' must be a relative path inside the source tree
Tests: a\n\nTests: b\nDepends: foo (~= 1)\n|4|Depends: invalid dependency 'foo (~= 1)'
Tests: a\nDepends: Foo\n|2|Depends: invalid dependency 'Foo': invalid package name
Tests: a\nDepends: foo [amd64\n|2|Depends: invalid dependency 'foo [amd64': missing ']' after the architectures
# only a comment\n|1|no test stanza
TABLE
printf 'Tests: a\n' >"$ctl"
printf 'Source: x\nBuild-Depends: a (>> 1\n' >"$bad/tree/debian/control"
out=$("$ALTS_RUN" "$bad/s.yaml" 2>&1); st=$?
check "malformed debian/control: exit 2 with its file:line ($st)" \
	bash -c '[ "$1" = 2 ] && grep -qF -- "$2:2: Build-Depends: invalid dependency" <<<"$3"' _ "$st" "$bad/tree/debian/control" "$out"
rm -f "$ctl"
out=$("$ALTS_RUN" "$bad/s.yaml" 2>&1); st=$?
check "a tree without debian/tests/control: exit 2 ($st)" bash -c '[ "$1" = 2 ] && grep -q "no debian/tests/control" <<<"$2"' _ "$st" "$out"
# A tree from someone's git may hold links: a control file leading out of the tree is
# not read on the host (its first line would be quoted in the parse error), nor is a fifo.
echo 'host-secret-line' >"$bad/secret"
ln -s "$bad/secret" "$ctl"
out=$("$ALTS_RUN" "$bad/s.yaml" 2>&1); st=$?
check "a control file linked out of the tree is refused, unread: exit 2 ($st)" \
	bash -c '[ "$1" = 2 ] && grep -q "leads out of the source tree" <<<"$2" && ! grep -q host-secret <<<"$2"' _ "$st" "$out"
rm -f "$ctl"
ln -s ../../../secret "$ctl"
out=$("$ALTS_RUN" "$bad/s.yaml" 2>&1); st=$?
check "a relative link out of the tree too: exit 2 ($st)" \
	bash -c '[ "$1" = 2 ] && grep -q "leads out of the source tree" <<<"$2"' _ "$st" "$out"
rm -f "$ctl"
mkfifo "$ctl"
out=$(timeout 20 "$ALTS_RUN" "$bad/s.yaml" 2>&1); st=$?
check "a fifo as control file is refused, not waited on: exit 2 ($st)" \
	bash -c '[ "$1" = 2 ] && grep -q "not a regular file" <<<"$2"' _ "$st" "$out"
rm -f "$ctl"
finish
