#!/usr/bin/env bash
# The rpm path end to end in the sandbox runner: a Debian 12 image with rpm and dnf (built
# once as debian-12-rpm, reused), alts-hello.rpm from the fixture spec in a createrepo_c
# repository, installed with dnf, launched, verified with rpm -V and removed with dnf; a
# modified file fails integrity. The same suite passes with the image copied instead of
# overlaid (ALTS_SANDBOX_MODE=copy; t_image.sh tests the automatic fallback); with network:
# host the host's apt and dnf proxy settings reach the sandbox. The host's rpm database is
# untouched and nothing is left behind.
. "$(dirname "$0")/lib/sandbox.sh"
need_cmd rpmbuild createrepo_c rpm
IMAGE=debian-12-rpm
ensure_image "$IMAGE" --dist debian-12 \
	--include debsums,procps,bats,binutils,ca-certificates,rpm,dnf,createrepo-c
check "the image records its distribution, not its name" \
	bash -c "'$ALTS_IMAGE' list | grep -Eq '^$IMAGE +debian +12 +[a-z0-9_]+ +apt '"

repo=$SCRATCH/rpmrepo
sh "$ALTS_SOURCE_DIR/tests/fixtures/pkgs/build-rpm.sh" "$repo" >/dev/null || { echo "cannot build the rpm"; exit 1; }
createrepo_c -q "$repo" || { echo "createrepo_c failed"; exit 1; }

# The host's rpm database: what it lists, and its files (read-only users do not change them).
host_rpmdb() {
	rpm -qa 2>/dev/null | LC_ALL=C sort
	find /var/lib/rpm /usr/lib/sysimage/rpm "$HOME/.rpmdb" -type f ! -name '*-shm' 2>/dev/null |
		LC_ALL=C sort | xargs -r md5sum
}
rpmdb_before=$(host_rpmdb | md5sum)

# suite NAME [EXTRA-ENV-YAML] [CHECKS-YAML]: alts-hello through dnf in a debian-12-rpm sandbox.
suite() {
	cat <<YAML
name: $1
environment: {runner: sandbox, image: $IMAGE, package_manager: dnf${2:+, $2}}
packages: [alts-hello]
repositories:
  - name: local
    baseurl: file://$repo
checks:
${3:-  - install
  - launch:
      command: [alts-hello]
      stdout: "^Hello from alts$"
  - integrity
  - uninstall}
YAML
}

# run_suite NAME: runs $SCRATCH/NAME.yaml; TAP in NAME.tap, output in NAME.out, logs in art-NAME.
run_suite() {
	"$ALTS_RUN" --artifacts "$SCRATCH/art-$1" --tap "$SCRATCH/$1.tap" --junit "$SCRATCH/$1.xml" \
		"$SCRATCH/$1.yaml" >"$SCRATCH/$1.out" 2>&1
}
show() { sed 's/^/# /' "$SCRATCH/$1.out"; }

suite good >"$SCRATCH/good.yaml"
start=$(date +%s%N)
run_suite good; status=$?
echo "# overlay: the rpm suite took $(( ($(date +%s%N) - start) / 1000000 )) ms"
check "dnf: install, launch, integrity, uninstall pass (exit $status)" test "$status" -eq 0
[ "$status" -eq 0 ] || show good
for n in "1 - install" "2 - launch" "3 - integrity" "4 - uninstall"; do
	check "dnf: ok $n" grep -q "^ok $n\$" "$SCRATCH/good.tap"
done
check "dnf installed from the createrepo_c repository" \
	grep -rq "dnf install -y alts-hello" "$SCRATCH/art-good"
check "rpm -V verified it" grep -rq "rpm -V alts-hello" "$SCRATCH/art-good"
check "dnf removed it" grep -rq "dnf remove -y alts-hello" "$SCRATCH/art-good"
check "the repository was written for dnf" grep -rq "baseurl=file://$repo" "$SCRATCH/art-good"
check "the host's rpm database is untouched" test "$(host_rpmdb | md5sum)" = "$rpmdb_before"
check "the package never reached the host" test ! -e /usr/bin/alts-hello
check "nothing is left behind" no_leftovers

suite modified "" '  - install
  - launch:
      name: an admin edits the program
      command: "echo '"'"'# local change'"'"' >> /usr/bin/alts-hello"
  - integrity' >"$SCRATCH/modified.yaml"
run_suite modified; status=$?
check "modified file: exit 1 (exit $status)" test "$status" -eq 1
[ "$status" -eq 1 ] || show modified
check "modified file: integrity is the failing check" grep -q "^not ok 3 - integrity" "$SCRATCH/modified.tap"
check "modified file: TAP names /usr/bin/alts-hello" grep -q "modified: /usr/bin/alts-hello" "$SCRATCH/modified.tap"
check "modified file: JUnit has the failure" grep -q "<failure" "$SCRATCH/modified.xml"
check "nothing is left behind after a failure" no_leftovers

# Bad values are refused before anything runs.
suite badmode >"$SCRATCH/badmode.yaml"
ALTS_SANDBOX_MODE=tmpfs run_suite badmode; status=$?
check "ALTS_SANDBOX_MODE=tmpfs is refused (exit $status)" test "$status" -ne 0
check "ALTS_SANDBOX_MODE=tmpfs: the reason is reported" \
	grep -q "invalid ALTS_SANDBOX_MODE 'tmpfs' (auto, overlay or copy)" "$SCRATCH/badmode.tap"
check "nothing is left behind after a refused mode" no_leftovers
cat >"$SCRATCH/noimage.yaml" <<YAML
name: noimage
environment: {runner: sandbox, image: no-such-image, package_manager: dnf}
checks: [{launch: {command: [true]}}]
YAML
run_suite noimage; status=$?
check "a missing image is refused (exit $status)" test "$status" -ne 0
check "a missing image: the reason names it" grep -q "no image 'no-such-image'" "$SCRATCH/noimage.tap"

# Copy mode, on request: the same suite, from a copy of the image.
suite copy >"$SCRATCH/copy.yaml"
start=$(date +%s%N)
ALTS_SANDBOX_MODE=copy run_suite copy; status=$?
echo "# copy mode: the rpm suite took $(( ($(date +%s%N) - start) / 1000000 )) ms"
check "ALTS_SANDBOX_MODE=copy: every check passes (exit $status)" test "$status" -eq 0
[ "$status" -eq 0 ] || show copy
check "ALTS_SANDBOX_MODE=copy: nothing is left behind" no_leftovers
check "ALTS_SANDBOX_MODE=copy: the image is unchanged" \
	test ! -e "$ALTS_IMAGE_CACHE/$IMAGE/rootfs/usr/bin/alts-hello"

# network: host copies the host's proxy settings for apt (files in /etc/apt/apt.conf.d that set
# Acquire::http(s)::Proxy) and dnf (proxy lines of /etc/dnf/dnf.conf). The host's /etc is
# overlaid in a private mount namespace, so the host itself never changes.
cat >"$SCRATCH/proxy.sh" <<'SH'
set -e
mkdir -p "$SCRATCH/etc-up" "$SCRATCH/etc-work"
mount -t overlay alts-test -o "lowerdir=/etc,upperdir=$SCRATCH/etc-up,workdir=$SCRATCH/etc-work" /etc
mkdir -p /etc/dnf
printf 'Acquire::http::Proxy "http://proxy.example.invalid:3128/";\n' >/etc/apt/apt.conf.d/90alts-test-proxy
printf 'Acquire::Retries "3";\n' >/etc/apt/apt.conf.d/90alts-test-noproxy
printf '[main]\ngpgcheck=1\nproxy=http://proxy.example.invalid:3128\nproxy_username=alts\n[other]\nproxy=http://not-this\n' \
	>/etc/dnf/dnf.conf
exec "$ALTS_RUN" --artifacts "$SCRATCH/art-proxy" --tap "$SCRATCH/proxy.tap" "$SCRATCH/proxy.yaml"
SH
cat >"$SCRATCH/proxy.yaml" <<YAML
name: proxy
environment: {runner: sandbox, image: $IMAGE, network: host}
checks:
  - launch:
      name: apt proxy
      command: [cat, /etc/apt/apt.conf.d/90alts-test-proxy]
      stdout: 'Acquire::http::Proxy "http://proxy.example.invalid:3128/";'
  - launch:
      name: other apt settings stay on the host
      command: [test, '!', -e, /etc/apt/apt.conf.d/90alts-test-noproxy]
  - launch:
      name: dnf proxy, in [main]
      command: [sed, -n, '/^\[main\]/,/^\[/p', /etc/dnf/dnf.conf]
      stdout: '^proxy=http://proxy.example.invalid:3128$'
  - launch:
      name: dnf proxy user, in [main]
      command: [sed, -n, '/^\[main\]/,/^\[/p', /etc/dnf/dnf.conf]
      stdout: '^proxy_username=alts$'
  - launch:
      name: only [main] of the host's dnf.conf
      command: [cat, /etc/dnf/dnf.conf]
      stdout_not: 'not-this|other'
  - launch:
      name: the image's own dnf settings stay
      command: [grep, -q, '^installonly_limit=3', /etc/dnf/dnf.conf]
YAML
SCRATCH=$SCRATCH ALTS_RUN=$ALTS_RUN unshare -m bash "$SCRATCH/proxy.sh" >"$SCRATCH/proxy.out" 2>&1; status=$?
check "network host: the host's apt and dnf proxy settings are copied (exit $status)" test "$status" -eq 0
[ "$status" -eq 0 ] || show proxy
check "network host: the host's /etc is unchanged" test ! -e /etc/apt/apt.conf.d/90alts-test-proxy
check "network host: nothing is left behind" no_leftovers

check "the host's rpm database is still untouched" test "$(host_rpmdb | md5sum)" = "$rpmdb_before"
finish
