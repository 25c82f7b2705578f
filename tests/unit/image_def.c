#include "tests/unit/helpers.h"

#include "framework/err.h"
#include "framework/sbuf.h"
#include "runners/image.h"
#include "runners/image_def.h"

#include <sys/stat.h>
#include <unistd.h>

#define GOOD_DEF                                                                                                      \
	"dist_name: almalinux\n"                                                                                      \
	"dist_version: \"9\"\n"                                                                                       \
	"release_package: almalinux-release\n"                                                                        \
	"packages: [bash, dnf]\n"                                                                                     \
	"gpg_keys: [https://repo.almalinux.org/almalinux/RPM-GPG-KEY-AlmaLinux-9]\n"                                  \
	"repositories:\n"                                                                                             \
	"  - name: baseos\n"                                                                                          \
	"    baseurl: https://repo.almalinux.org/almalinux/$releasever/BaseOS/$basearch/os/\n"                        \
	"    mirrorlist: https://mirrors.almalinux.org/mirrorlist/$releasever/baseos\n"                               \
	"  - name: local\n"                                                                                           \
	"    baseurl: file:///srv/repo\n"                                                                             \
	"    gpgcheck: false\n"

static struct image_def *load_ok(const char *text)
{
	struct image_def *def = NULL;
	struct alts_err err = ALTS_ERR_INIT;

	assert_ok_err(image_def_load_buffer(&def, "def.yaml", text, strlen(text), &err), &err);
	return def;
}

/* Asserts that text is refused as invalid with exactly the message want. */
static void assert_def_invalid(const char *text, const char *want)
{
	struct image_def *def = NULL;
	struct alts_err err = ALTS_ERR_INIT;
	int rc = image_def_load_buffer(&def, "def.yaml", text, strlen(text), &err);

	if (rc != ALTS_EINVALID || !strstr(err.msg, want))
		fail_msg("expected ALTS_EINVALID with '%s', got %d: '%s'", want, rc, err.msg);
	assert_null(def);
}

static void test_image_def__loads_with_defaults(void **state)
{
	struct image_def *def = load_ok(GOOD_DEF);

	ALTS_UNUSED(state);
	assert_string_equal(def->dist_name, "almalinux");
	assert_string_equal(def->dist_version, "9");
	assert_string_equal(def->releasever, "9");
	assert_string_equal(def->rpm_dbpath, "/var/lib/rpm");
	assert_null(def->arch);
	assert_true(def->gpgcheck);
	assert_true(def->nodocs);
	assert_false(def->install_weak_deps);
	assert_int_equal(def->nrepos, 2);
	assert_true(def->repos[0].gpgcheck);
	assert_true(def->repos[0].enabled);
	assert_false(def->repos[1].gpgcheck);
	assert_int_equal(def->repos[1].loc.line, 10);
	image_def_free(def);
}

static void test_image_def__dnf_conf(void **state)
{
	struct image_def *def = load_ok(GOOD_DEF "install_weak_deps: true\nmodule_platform_id: platform:el9\n");
	struct sbuf conf = SBUF_INIT;

	ALTS_UNUSED(state);
	image_def_dnf_conf(&conf, def);
	assert_non_null(strstr(conf.buf, "[main]\ngpgcheck=1\nreposdir=/dev/null\n"));
	assert_non_null(strstr(conf.buf, "install_weak_deps=1\n"));
	assert_non_null(strstr(conf.buf, "tsflags=nodocs\n"));
	assert_non_null(strstr(conf.buf, "module_platform_id=platform:el9\n"));
	assert_non_null(strstr(conf.buf,
			       "[baseos]\nname=baseos\nenabled=1\ngpgcheck=1\n"
			       "baseurl=https://repo.almalinux.org/almalinux/$releasever/BaseOS/$basearch/os/\n"
			       "mirrorlist=https://mirrors.almalinux.org/mirrorlist/$releasever/baseos\n"
			       "gpgkey=https://repo.almalinux.org/almalinux/RPM-GPG-KEY-AlmaLinux-9\n"));
	assert_non_null(strstr(conf.buf, "[local]\nname=local\nenabled=1\ngpgcheck=0\nbaseurl=file:///srv/repo\n"));
	sbuf_release(&conf);
	image_def_free(def);
}

static void test_image_def__dnf_argv(void **state)
{
	struct image_def *def = load_ok(GOOD_DEF "releasever: \"9.4\"\n");
	const char **argv = image_def_dnf_argv(def, "/c/dnf.conf", "/c/rootfs", "aarch64");
	const char *want[] = { "dnf", "-y", "--noplugins", "--config=/c/dnf.conf", "--installroot=/c/rootfs",
			       "--releasever=9.4", "--forcearch=aarch64", "install", "almalinux-release", "bash", "dnf",
			       NULL };

	ALTS_UNUSED(state);
	for (size_t i = 0; want[i]; i++)
		assert_string_equal(argv[i], want[i]);
	assert_null(argv[ALTS_ARRAY_SIZE(want) - 1]);
	argv = image_def_dnf_argv(def, "/c/dnf.conf", "/c/rootfs", NULL);
	assert_string_equal(argv[6], "install");
	image_def_free(def);
}

static void test_image_def__refuses_bad_definitions(void **state)
{
	ALTS_UNUSED(state);
	assert_def_invalid(GOOD_DEF "mirror: x\n", "def.yaml:13:1: unknown key 'mirror' (known keys: dist_name,");
	assert_def_invalid(GOOD_DEF "    sslverify: false\n", "def.yaml:13:5: repositories[1]: unknown key 'sslverify'");
	assert_def_invalid("dist_name: [a\n", "def.yaml:");
	assert_def_invalid("- a\n- b\n", "def.yaml:1:1: an image definition is a mapping");
	assert_def_invalid("dist_name: a\ndist_version: '1'\npackages: [a]\n",
			   "def.yaml:1:1: missing required key 'repositories'");
	assert_def_invalid("dist_name: Alma Linux\ndist_version: '1'\npackages: [a]\nrepositories: []\n",
			   "def.yaml:1:12: dist_name: invalid value 'Alma Linux'");
	assert_def_invalid("dist_name: a\ndist_version: '1'\npackages: [a]\nrepositories: []\n",
			   "def.yaml:4:15: repositories: at least one repository is needed");
	assert_def_invalid("dist_name: a\ndist_version: '1'\npackages: []\nrepositories: [{name: r, baseurl: 'file:///r'}]\n",
			   "def.yaml:3:11: packages: must not be empty");
	assert_def_invalid(GOOD_DEF "arch: vax\n", "def.yaml:13:7: arch: unknown architecture 'vax'");
	assert_def_invalid(GOOD_DEF "rpm_dbpath: var/lib/rpm\n", "rpm_dbpath: invalid path 'var/lib/rpm'");
	assert_def_invalid(GOOD_DEF "rpm_dbpath: /var/../etc\n", "rpm_dbpath: invalid path");
	assert_def_invalid("dist_name: a\ndist_version: '1'\npackages: [a, -x]\ngpgcheck: false\n"
			   "repositories: [{name: r, baseurl: 'file:///r'}]\n",
			   "def.yaml:3:15: packages[1]: invalid package '-x'");
	assert_def_invalid("dist_name: a\ndist_version: '1'\npackages: [a]\ngpgcheck: false\n"
			   "repositories: [{name: r, baseurl: \"http://x/\\n[main]\\ngpgcheck=0\"}]\n",
			   "repositories[0].baseurl: invalid URL");
	assert_def_invalid("dist_name: a\ndist_version: '1'\npackages: [a]\ngpgcheck: false\n"
			   "repositories: [{name: r, baseurl: 'rsync://x'}]\n",
			   "repositories[0].baseurl: invalid URL 'rsync://x'");
	assert_def_invalid("dist_name: a\ndist_version: '1'\npackages: [a]\ngpgcheck: false\n"
			   "repositories: [{name: 'r]x', baseurl: 'file:///r'}]\n",
			   "repositories[0].name: invalid repository name 'r]x'");
	assert_def_invalid("dist_name: a\ndist_version: '1'\npackages: [a]\ngpgcheck: false\n"
			   "repositories: [{name: r}]\n",
			   "def.yaml:5:16: repositories[0]: repository 'r' needs baseurl or mirrorlist");
	assert_def_invalid("dist_name: a\ndist_version: '1'\npackages: [a]\n"
			   "repositories: [{name: r, baseurl: 'file:///r'}]\n",
			   "repositories[0]: repository 'r' checks signatures (gpgcheck) but no gpg_keys");
	assert_def_invalid("dist_name: a\ndist_version: '1'\npackages: [a]\ngpgcheck: false\n"
			   "repositories: [{name: r, baseurl: 'file:///r'}, {name: r, baseurl: 'file:///s'}]\n",
			   "repositories[1]: repository 'r' is listed twice");
	assert_def_invalid("dist_name: a\ndist_version: '1'\npackages: [a]\ngpgcheck: false\ngpg_keys: [/etc/key]\n"
			   "repositories: [{name: r, baseurl: 'file:///r'}]\n",
			   "gpg_keys[0]: invalid key URL '/etc/key'");
}

/* Every shipped definition loads, checks signatures and names AlmaLinux's own keys. */
static void test_image_def__shipped_definitions_load(void **state)
{
	static const char *const names[] = { "almalinux-8", "almalinux-9", "almalinux-10", "almalinux-10-kitten" };

	ALTS_UNUSED(state);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(names); i++) {
		char path[PATH_MAX];
		struct image_def *def = NULL;
		struct alts_err err = ALTS_ERR_INIT;

		str_fmt(path, sizeof(path), "%s/configs/images/%s.yaml", ALTS_SOURCE_DIR, names[i]);
		assert_ok_err(image_def_load(&def, path, &err), &err);
		assert_string_equal(def->dist_name, "almalinux");
		assert_true(def->gpgcheck);
		assert_true(def->gpg_keys.n >= 1);
		assert_non_null(strstr(def->gpg_keys.v[0], "https://repo.almalinux.org/almalinux/RPM-GPG-KEY-AlmaLinux"));
		for (size_t r = 0; r < def->nrepos; r++)
			assert_true(def->repos[r].gpgcheck);
		image_def_free(def);
	}
}

static void test_image_def__find_by_name(void **state)
{
	char path[PATH_MAX], dirs[PATH_MAX * 2 + 2], d1[PATH_MAX], d2[PATH_MAX];
	struct alts_err err = ALTS_ERR_INIT;
	const char *root = test_sandbox_init();

	ALTS_UNUSED(state);
	str_fmt(d1, sizeof(d1), "%s/etc", root);
	str_fmt(d2, sizeof(d2), "%s/share", root);
	assert_int_equal(mkdir(d1, 0755), 0);
	assert_int_equal(mkdir(d2, 0755), 0);
	alts_free(test_write_file("share/el.yaml", "x"));
	str_fmt(dirs, sizeof(dirs), "%s:%s", d1, d2);
	setenv("ALTS_IMAGE_DEFINITIONS", dirs, 1);
	assert_ok_err(image_def_find(path, sizeof(path), "el", &err), &err);
	assert_non_null(strstr(path, "/share/el.yaml"));
	alts_free(test_write_file("etc/el.yaml", "x"));
	assert_ok_err(image_def_find(path, sizeof(path), "el", &err), &err);
	assert_non_null(strstr(path, "/etc/el.yaml"));
	assert_int_equal(image_def_find(path, sizeof(path), "other", &err), ALTS_ENOTFOUND);
	assert_non_null(strstr(err.msg, "no image definition 'other.yaml' in "));
	unsetenv("ALTS_IMAGE_DEFINITIONS");
	test_sandbox_cleanup();
}

static void test_image_def__arch_support(void **state)
{
	char path[PATH_MAX];
	struct alts_err err = ALTS_ERR_INIT;
	const char *root = test_sandbox_init();
	const char *foreign = image_arch_support("x86_64") == IMAGE_ARCH_NATIVE ? "s390x" : "x86_64";

	ALTS_UNUSED(state);
	setenv("ALTS_BINFMT_DIR", root, 1);
	assert_int_equal(image_arch_support(NULL), IMAGE_ARCH_NATIVE);
	assert_int_equal(image_arch_support(""), IMAGE_ARCH_NATIVE);
	assert_int_equal(image_arch_support(foreign), IMAGE_ARCH_NO);
	assert_int_equal(image_arch_check(foreign, &err), ALTS_EINVALID);
	assert_non_null(strstr(err.msg, "no qemu-user binfmt handler 'qemu-"));
	str_fmt(path, sizeof(path), "qemu-%s", foreign);
	alts_free(test_write_file(path, "disabled\ninterpreter /usr/bin/qemu-static\n"));
	assert_int_equal(image_arch_support(foreign), IMAGE_ARCH_NO);
	alts_free(test_write_file(path, "enabled\ninterpreter /usr/bin/qemu-static\n"));
	assert_int_equal(image_arch_support(foreign), IMAGE_ARCH_EMULATED);
	assert_int_equal(image_arch_check(foreign, &err), 0);
	assert_int_equal(image_arch_support("pdp11"), IMAGE_ARCH_NO);
	unsetenv("ALTS_BINFMT_DIR");
	test_sandbox_cleanup();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_image_def__loads_with_defaults),
		cmocka_unit_test(test_image_def__dnf_conf),
		cmocka_unit_test(test_image_def__dnf_argv),
		cmocka_unit_test(test_image_def__refuses_bad_definitions),
		cmocka_unit_test(test_image_def__shipped_definitions_load),
		cmocka_unit_test(test_image_def__find_by_name),
		cmocka_unit_test(test_image_def__arch_support),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
