# Sourced by tests that need .rpm packages and dnf repositories (after lib/common.sh or
# lib/sandbox.sh): rpmbuild and createrepo_c builders, the rpm counterparts of build_deb and
# make_repo.

# build_rpm DIR NAME VERSION: a noarch package with /usr/bin/NAME printing "Hello from NAME".
# BUILD_RPM_HEADER: extra spec header lines (e.g. "AutoReqProv: no" for an image whose rpm
# database provides nothing, not even /bin/sh).
build_rpm() {
	local dir=$1 name=$2 version=$3 top
	top=$(mktemp -d)
	mkdir -p "$dir" "$top/SPECS"
	cat >"$top/SPECS/$name.spec" <<SPEC
Name: $name
Version: $version
Release: 1
Summary: $name, made by the alts tests
License: MIT
BuildArch: noarch
${BUILD_RPM_HEADER:-}
%description
$name, made by the alts tests.
%install
mkdir -p %{buildroot}/usr/bin
printf '#!/bin/sh\necho "Hello from %s"\n' $name >%{buildroot}/usr/bin/$name
chmod 0755 %{buildroot}/usr/bin/$name
%files
/usr/bin/$name
SPEC
	rpmbuild -bb --quiet --define "_topdir $top" --define "_build_id_links none" \
		"$top/SPECS/$name.spec" >/dev/null 2>&1 || { rm -rf "$top"; return 1; }
	find "$top/RPMS" -name '*.rpm' -exec cp {} "$dir/" \;
	rm -rf "$top"
}

# make_rpm_repo DIR: dnf repository metadata (repodata/) for the .rpms in DIR.
make_rpm_repo() {
	createrepo_c -q "$1"
}

# build_rpm_tree DIR NAME VERSION TREE [PROVIDES...]: a package carrying the whole of TREE as it
# is (owners, modes, symlinks), without dependencies, scriptlets or compression, providing
# PROVIDES (e.g. /bin/sh, which a merged-/usr tree has only through its /bin symlink): a
# stand-in for a distribution's base packages when none can be downloaded.
build_rpm_tree() {
	local dir=$1 name=$2 version=$3 tree=$4 top provides=
	shift 4
	for p in "$@"; do provides+="Provides: $p"$'\n'; done
	top=$(mktemp -d)
	mkdir -p "$dir" "$top/SPECS"
	cat >"$top/SPECS/$name.spec" <<SPEC
Name: $name
Version: $version
Release: 1
Summary: $name, a file tree packed by the alts tests
License: various
AutoReqProv: no
$provides%define __os_install_post %{nil}
%define __spec_install_post %{nil}
%define debug_package %{nil}
%define _build_id_links none
%define _binary_payload w0.ufdio
%description
$name: the files of $tree, packed by the alts tests.
%install
cp -a "$tree/." %{buildroot}/
%files
%defattr(-,-,-)
/*
SPEC
	rpmbuild -bb --quiet --define "_topdir $top" "$top/SPECS/$name.spec" >"$top/log" 2>&1 ||
		{ sed 's/^/# rpmbuild: /' "$top/log" | tail -20; rm -rf "$top"; return 1; }
	find "$top/RPMS" -name '*.rpm' -exec mv {} "$dir/" \;
	rm -rf "$top"
}
