# Sourced by tests of the docker runner: podman's Docker-compatible API service on a unix socket
# of the test's own, and an image imported from the cached Debian 12 rootfs.
#
#   podman_start      sets PODMAN_SOCK (or skips the test, saying why); the service's pid in $SCRATCH/podman.pid
#   podman_stop
#   podman_api PATH   GET on the API (curl over the socket)
PODMAN_IMAGE=alts-test:debian-12
PODMAN_ROOTFS=${ALTS_TEST_IMAGE_CACHE:-/var/cache/alts/images}/debian-12/rootfs
PODMAN_RUNTIME=

# Why podman cannot run a container here, or nothing. Tries the default runtime (crun), then runc:
# crun refuses hosts whose cgroup v2 hierarchy holds controllers beside cgroup v1 ("hybrid").
podman_probe() {
	local out rt
	for rt in "" runc; do
		[ -z "$rt" ] || command -v "$rt" >/dev/null 2>&1 || continue
		out=$(podman ${rt:+--runtime "$rt"} run --rm --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
			"$PODMAN_IMAGE" true 2>&1) && { PODMAN_RUNTIME=$rt; return 0; }
		echo "# podman${rt:+ --runtime $rt} run: $out"
	done
	return 1
}

podman_start() {
	need_root
	command -v podman >/dev/null 2>&1 || skip_test "needs:podman (apt: podman)"
	command -v curl >/dev/null 2>&1 || skip_test "needs:curl"
	if ! podman image exists "$PODMAN_IMAGE" 2>/dev/null; then
		[ -d "$PODMAN_ROOTFS" ] || skip_test "needs the cached image debian-12 ($PODMAN_ROOTFS)"
		tar -C "$PODMAN_ROOTFS" -c . | podman import - "$PODMAN_IMAGE" >/dev/null || return 1
	fi
	podman_probe || return 1
	PODMAN_SOCK=$SCRATCH/podman.sock
	setsid podman ${PODMAN_RUNTIME:+--runtime "$PODMAN_RUNTIME"} system service --time=0 "unix://$PODMAN_SOCK" \
		>"$SCRATCH/podman.log" 2>&1 </dev/null &
	echo $! >"$SCRATCH/podman.pid"
	for _ in $(seq 100); do
		[ "$(curl -s --unix-socket "$PODMAN_SOCK" http://d/_ping 2>/dev/null)" = OK ] && return 0
		sleep 0.1
	done
	echo "# the podman service did not answer:"; sed 's/^/# /' "$SCRATCH/podman.log"
	return 1
}

podman_stop() {
	local pid
	pid=$(cat "$SCRATCH/podman.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null
}

podman_api() { curl -s --unix-socket "$PODMAN_SOCK" "http://d/v1.41$1"; }

# Containers labelled by alts, as JSON.
podman_alts_containers() {
	podman_api '/containers/json?all=1&filters=%7B%22label%22%3A%5B%22alts.managed%3D1%22%5D%7D'
}
