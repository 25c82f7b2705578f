/* checks/integrity.c against the fake runner. */
#include "tests/unit/helpers.h"

#include "tests/unit/fake_runner.h"

#define QUERY_FMT "--showformat=${Status}\\t${Version}\\n"

/* The ldd part's command, as joined by the fake: the loader and the files follow. */
#define TRACE_SH                                                                                                \
	"sh -c L=$1; shift; \"$L\" --verify \"$L\" >/dev/null 2>&1; case $? in 0|2) ;; *) exit 0;; esac; "      \
	"for f; do printf '%s\\n' \"==> $f\"; LD_TRACE_LOADED_OBJECTS=1 LD_WARN= LD_BIND_NOW= LD_VERBOSE= "     \
	"\"$L\" \"$f\" 2>&1; done sh "
#define LD64 "/lib64/ld-linux-x86-64.so.2"

/* readelf -d -l -W sections: an executable asking for LD64 and a library (no PT_INTERP), both with NEEDED. */
#define ELF_EXE(path, more)                                                                                     \
	"\nFile: " path "\n\nElf file type is DYN (Position-Independent Executable file)\n"                     \
	"  INTERP         0x000318 0x0000000000000318 0x0000000000000318 0x00001c 0x00001c R   0x1\n"           \
	"      [Requesting program interpreter: " LD64 "]\n"                                                    \
	"Dynamic section at offset 0x9dd8 contains 26 entries:\n"                                               \
	" 0x0000000000000001 (NEEDED)             Shared library: [libc.so.6]\n" more
#define ELF_LIB(path, more)                                                                                     \
	"\nFile: " path "\n\nElf file type is DYN (Shared object file)\n"                                       \
	"Dynamic section at offset 0x2dd8 contains 20 entries:\n"                                               \
	" 0x0000000000000001 (NEEDED)             Shared library: [libc.so.6]\n" more

/* dpkg -L of a small package with a binary, a library, a link and a doc. */
static const char hello_list[] = "/.\n/usr\n/usr/bin\n/usr/bin/hello\n/usr/lib/libhello.so.1\n"
				 "/usr/share/doc/hello/README\n/usr/bin/hi\n";

static const char hello_stat[] = "directory\t755\t/usr\n"
				 "directory\t755\t/usr/bin\n"
				 "regular file\t755\t/usr/bin/hello\n"
				 "regular file\t644\t/usr/lib/libhello.so.1\n"
				 "regular file\t644\t/usr/share/doc/hello/README\n"
				 "symbolic link\t777\t/usr/bin/hi\n";

static void setup_clean(void)
{
	fake_reply("debsums -s hello", 0, "", "");
	fake_reply("dpkg-query -L hello", 0, hello_list, "");
	fake_reply("stat --printf %F\\t%a\\t%n\\n", 1, hello_stat, "");
	fake_reply("stat -L --printf %F\\t%n\\n -- /usr/bin/hi", 0, "regular file\t/usr/bin/hi\n", "");
	fake_reply("readelf -d -l -W", 0,
		   ELF_EXE("/usr/bin/hello", " 0x1d (RUNPATH) Library runpath: [/usr/lib/hello]\n")
			   ELF_LIB("/usr/lib/libhello.so.1", ""),
		   "");
	fake_reply("sh -c", 0, "==> /usr/bin/hello\n\tlinux-vdso.so.1 (0x1)\n\tlibc.so.6 => /lib/libc.so.6 (0x1)\n"
			       "==> /usr/lib/libhello.so.1\n\tlibc.so.6 => /lib/libc.so.6 (0x1)\n", "");
}

static void test_check_integrity__clean_package_passes_every_part(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, "packages: [hello]\nchecks: [integrity]\n", 0);
	setup_clean();
	assert_int_equal(fake_check_run(&fc), 0);
	if (fc.result.status != CHECK_PASS)
		fail_msg("%s", fc.result.message);
	assert_int_equal(fc.result.nsubs, 5);
	assert_int_equal(fake_sub(&fc, "hello: debsums")->status, CHECK_PASS);
	assert_int_equal(fake_sub(&fc, "hello: files exist")->status, CHECK_PASS);
	assert_int_equal(fake_sub(&fc, "hello: symlinks")->status, CHECK_PASS);
	assert_int_equal(fake_sub(&fc, "hello: ldd")->status, CHECK_PASS);
	assert_int_equal(fake_sub(&fc, "hello: rpath")->status, CHECK_PASS);
	/* One stat for every file; the doc is not an ELF candidate, the library is. */
	assert_true(fake_find_call("stat --printf %F\\t%a\\t%n\\n -- /usr /usr/bin /usr/bin/hello "
				   "/usr/lib/libhello.so.1 /usr/share/doc/hello/README /usr/bin/hi") >= 0);
	/* One readelf serves both parts; one loader command lists both files, the library with hello's loader. */
	assert_true(fake_find_call("readelf -d -l -W -- /usr/bin/hello /usr/lib/libhello.so.1") >= 0);
	assert_int_equal(fake_find_call("readelf -d -W"), -1);
	assert_true(fake_find_call(TRACE_SH LD64 " /usr/bin/hello /usr/lib/libhello.so.1") >= 0);
	assert_string_equal(fake.calls[fake_find_call("sh -c")], TRACE_SH LD64 " /usr/bin/hello /usr/lib/libhello.so.1");
	assert_int_equal(fake_find_call("ldd -- "), -1);
	fake_check_release(&fc);
}

static void test_check_integrity__each_problem_is_named(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, "packages: [hello]\nchecks: [integrity]\n", 0);
	fake_reply("debsums -s hello", 2, "",
		   "debsums: changed file /usr/bin/hello (from hello package)\n"
		   "debsums: missing file /usr/share/doc/hello/README (from hello package)\n");
	fake_reply("dpkg-query -L hello", 0, hello_list, "");
	/* README is missing: stat prints nothing for it. */
	fake_reply("stat --printf %F\\t%a\\t%n\\n", 1,
		   "directory\t755\t/usr\ndirectory\t755\t/usr/bin\nregular file\t755\t/usr/bin/hello\n"
		   "regular file\t644\t/usr/lib/libhello.so.1\nsymbolic link\t777\t/usr/bin/hi\n",
		   "stat: cannot statx '/usr/share/doc/hello/README': No such file or directory\n");
	fake_reply("stat -L", 1, "", "stat: cannot statx '/usr/bin/hi': No such file or directory\n");
	fake_reply("readelf", 0,
		   ELF_EXE("/usr/bin/hello", " 0x0f (RPATH) Library rpath: [/opt/x::/usr/lib]\n")
			   ELF_LIB("/usr/lib/libhello.so.1", " 0x1d (RUNPATH) Library runpath: [:/opt]\n"),
		   "");
	fake_reply("sh -c", 0,
		   "==> /usr/bin/hello\n\tlibgone.so.2 => not found\n\tlibc.so.6 => /lib/libc.so.6 (0x1)\n"
		   "==> /usr/lib/libhello.so.1\n\tlibc.so.6 => /lib/libc.so.6\n\tlibold.so.1 => not found\n",
		   "");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_FAIL);
	assert_string_equal(fc.result.message, "hello: debsums: modified: /usr/bin/hello; missing: "
					       "/usr/share/doc/hello/README (and 4 more failed checks)");
	assert_string_equal(fake_sub(&fc, "hello: files exist")->message, "missing: /usr/share/doc/hello/README");
	assert_string_equal(fake_sub(&fc, "hello: symlinks")->message, "dangling: /usr/bin/hi");
	assert_string_equal(fake_sub(&fc, "hello: ldd")->message, "/usr/bin/hello: libgone.so.2 not found; "
								  "/usr/lib/libhello.so.1: libold.so.1 not found");
	assert_string_equal(fake_sub(&fc, "hello: rpath")->message,
			    "/usr/bin/hello: RPATH '/opt/x::/usr/lib' has an empty entry (the current directory); "
			    "/usr/lib/libhello.so.1: RUNPATH ':/opt' has an empty entry (the current directory)");
	assert_int_equal(fake_find_call("ldd -- "), -1);
	fake_check_release(&fc);
}

/* A library package: no executable says which loader, so /bin/sh's is used; non-ELF and static files are skipped. */
static void test_check_integrity__library_without_interpreter_uses_the_shell_loader(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, "packages: [libhi]\nchecks: [{integrity: {checks: [ldd]}}]\n", 0);
	fake_reply("dpkg-query -L libhi", 0, "/usr/lib/libhi.so.1\n/usr/bin/hi-config\n/usr/bin/hi-static\n", "");
	fake_reply("stat", 0,
		   "regular file\t644\t/usr/lib/libhi.so.1\nregular file\t755\t/usr/bin/hi-config\n"
		   "regular file\t755\t/usr/bin/hi-static\n",
		   "");
	fake_reply("readelf -l -W -- /bin/sh", 0,
		   "\nElf file type is DYN (Position-Independent Executable file)\n"
		   "      [Requesting program interpreter: /lib/ld-linux-aarch64.so.1]\n",
		   "");
	/* hi-config is a script: a header, then nothing ELF; hi-static has no dynamic section. */
	fake_reply("readelf -d -l -W", 1,
		   ELF_LIB("/usr/lib/libhi.so.1", "") "\nFile: /usr/bin/hi-config\n"
						       "\nFile: /usr/bin/hi-static\n\nElf file type is EXEC (Executable file)\n"
						       "\nThere is no dynamic section in this file.\n",
		   "readelf: Error: Not an ELF file - it has the wrong magic bytes at the start\n");
	fake_reply("sh -c", 0, "==> /usr/lib/libhi.so.1\n\tlibgone.so.2 => not found\n", "");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_FAIL);
	assert_string_equal(fake_sub(&fc, "libhi: ldd")->message, "/usr/lib/libhi.so.1: libgone.so.2 not found");
	assert_true(fake_find_call("readelf -d -l -W -- /usr/lib/libhi.so.1 /usr/bin/hi-config /usr/bin/hi-static") >=
		    0);
	assert_true(fake_find_call("readelf -l -W -- /bin/sh") >= 0);
	assert_string_equal(fake.calls[fake_find_call("sh -c")], TRACE_SH "/lib/ld-linux-aarch64.so.1 /usr/lib/libhi.so.1");
	assert_int_equal(fake_find_call("ldd -- "), -1);
	fake_check_release(&fc);
}

/* Four files: a traced (liba.so missing), b with an odd interpreter, c refused by the loader, d fine. */
static void setup_mixed(struct fake_check *fc)
{
	fake_reset();
	fake_check_init(fc, "packages: [hello]\nchecks: [{integrity: {checks: [ldd]}}]\n", 0);
	fake_reply("dpkg-query -L hello", 0, "/usr/bin/a\n/usr/bin/b\n/usr/bin/c\n/usr/bin/d\n", "");
	fake_reply("stat", 0,
		   "regular file\t755\t/usr/bin/a\nregular file\t755\t/usr/bin/b\nregular file\t755\t/usr/bin/c\n"
		   "regular file\t755\t/usr/bin/d\n",
		   "");
	fake_reply("readelf -d -l -W", 0,
		   ELF_EXE("/usr/bin/a", "")
		   "\nFile: /usr/bin/b\nElf file type is EXEC (Executable file)\n"
		   "      [Requesting program interpreter: /opt/b/ld-b.so.2]\n"
		   " 0x0000000000000001 (NEEDED)             Shared library: [libb.so]\n"
		   ELF_EXE("/usr/bin/c", "") ELF_EXE("/usr/bin/d", ""),
		   "");
	fake_reply("sh -c", 0,
		   "==> /usr/bin/a\n\tliba.so => not found\n"
		   "==> /usr/bin/c\n/usr/bin/c: error while loading shared libraries: /usr/bin/c: wrong ELF class\n"
		   "==> /usr/bin/d\n\tlibc.so.6 => /lib/libc.so.6\n",
		   "");
	fake_reply("ldd", 1, "/usr/bin/b:\n\tlibb.so => not found\n/usr/bin/c:\n\tlibc.so.6 => /lib/libc.so.6\n", "");
}

/* What no loader lists goes to ldd: an odd interpreter, a file the loader refuses; findings stay in file order. */
static void test_check_integrity__ldd_lists_what_no_loader_can(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	setup_mixed(&fc);
	assert_int_equal(fake_check_run(&fc), 0);
	assert_string_equal(fake_sub(&fc, "hello: ldd")->message,
			    "/usr/bin/a: liba.so not found; /usr/bin/b: libb.so not found");
	assert_string_equal(fake.calls[fake_find_call("sh -c")], TRACE_SH LD64 " /usr/bin/a /usr/bin/c /usr/bin/d");
	assert_string_equal(fake.calls[fake_find_call("ldd -- ")], "ldd -- /usr/bin/b /usr/bin/c");
	fake_check_release(&fc);
}

/*
 * Each allocation of a run failing in turn: out of memory, or a result,
 * nothing leaked (run under valgrind and ASan). What the result says is
 * not checked: the fake's own bookkeeping allocates too.
 */
static void test_check_integrity__ldd_part_survives_oom(void **state)
{
	struct fake_check fc;
	unsigned long n;

	ALTS_UNUSED(state);
	setup_mixed(&fc);
	alts_alloc_fail_at(0);
	assert_int_equal(fake_check_run(&fc), 0);
	n = alts_alloc_fail_at(0);
	fake_check_release(&fc);
	assert_true(n > 20);
	for (unsigned long i = 1; i <= n; i++) {
		int rc;

		setup_mixed(&fc);
		alts_alloc_fail_at(i);
		rc = fake_check_run(&fc);
		alts_alloc_fail_at(0);
		if (rc)
			assert_int_equal(rc, ALTS_ENOMEM);
		fake_check_release(&fc);
	}
}

/* Long outputs keep their head and tail only: a file whose section was cut goes to ldd. */
static void cut_case(bool cut_readelf)
{
	struct fake_check fc;
	struct sbuf big = SBUF_INIT, filler = SBUF_INIT;

	fake_reset();
	fake_check_init(&fc, "packages: [hello]\nchecks: [{integrity: {checks: [ldd]}}]\n", 0);
	fake_reply("dpkg-query -L hello", 0, "/usr/bin/a\n/usr/bin/b\n", "");
	fake_reply("stat", 0, "regular file\t755\t/usr/bin/a\nregular file\t755\t/usr/bin/b\n", "");
	/* Over the 1 MiB that check_cmd keeps, all in a's section. */
	for (int i = 0; i < 30000; i++)
		sbuf_adds(&filler, cut_readelf ? " 0x000000000000000c (INIT)               0x2000\n"
					       : "\tlibfill.so.1 => /lib/libfill.so.1 (0x1)\n");
	if (cut_readelf) {
		sbuf_adds(&big, ELF_EXE("/usr/bin/a", ""));
		sbuf_add(&big, filler.buf, filler.len);
		sbuf_adds(&big, ELF_EXE("/usr/bin/b", ""));
		fake_reply("readelf", 0, big.buf, "");
		fake_reply("sh -c", 0, "==> /usr/bin/b\n\tlibb.so => not found\n", "");
	} else {
		fake_reply("readelf", 0, ELF_EXE("/usr/bin/a", "") ELF_EXE("/usr/bin/b", ""), "");
		/* a's own finding is in the kept head, but its listing is not whole: ldd's counts. */
		sbuf_adds(&big, "==> /usr/bin/a\n\tliba.so => not found\n");
		sbuf_add(&big, filler.buf, filler.len);
		sbuf_adds(&big, "==> /usr/bin/b\n\tlibb.so => not found\n");
		fake_reply("sh -c", 0, big.buf, "");
	}
	fake_reply("ldd", 1, "\tlibz.so => not found\n", "");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_string_equal(fake.calls[fake_find_call("ldd -- ")], "ldd -- /usr/bin/a");
	assert_string_equal(fake.calls[fake_find_call("sh -c")],
			    cut_readelf ? TRACE_SH LD64 " /usr/bin/b" : TRACE_SH LD64 " /usr/bin/a /usr/bin/b");
	assert_string_equal(fake_sub(&fc, "hello: ldd")->message,
			    "/usr/bin/a: libz.so not found; /usr/bin/b: libb.so not found");
	sbuf_release(&big);
	sbuf_release(&filler);
	fake_check_release(&fc);
}

static void test_check_integrity__cut_readelf_output_goes_to_ldd(void **state)
{
	ALTS_UNUSED(state);
	cut_case(true);
}

static void test_check_integrity__cut_loader_output_goes_to_ldd(void **state)
{
	ALTS_UNUSED(state);
	cut_case(false);
}

/* Without readelf, ldd lists every candidate, as before. */
static void test_check_integrity__no_readelf_uses_ldd(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, "packages: [hello]\nchecks: [{integrity: {checks: [ldd, rpath]}}]\n", 0);
	fake_missing("readelf");
	fake_reply("dpkg-query -L hello", 0, hello_list, "");
	fake_reply("stat", 0, hello_stat, "");
	fake_reply("ldd", 1, "/usr/bin/hello:\n\tlibgone.so.2 => not found\n/usr/lib/libhello.so.1:\n"
			     "\tlibc.so.6 => /lib/libc.so.6\n", "");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_string_equal(fake_sub(&fc, "hello: ldd")->message, "/usr/bin/hello: libgone.so.2 not found");
	assert_int_equal(fake_sub(&fc, "hello: rpath")->status, CHECK_SKIP);
	assert_string_equal(fake.calls[fake_find_call("ldd -- ")], "ldd -- /usr/bin/hello /usr/lib/libhello.so.1");
	assert_int_equal(fake_find_call("sh -c"), -1);
	fake_check_release(&fc);
}

static void test_check_integrity__rpm_verify_and_ignore(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake.os_id = "rocky";
	fake.os_version = "9";
	fake_check_init(&fc,
			"packages: [hello]\nchecks:\n"
			"  - integrity: {checks: [verify], ignore: ['/etc/*']}\n",
			0);
	fake_reply("rpm -V hello", 1, "S.5....T.  c /etc/hello.conf\n.M.......    /usr/bin/hello\n", "");
	assert_int_equal(fake_check_run(&fc), 0);
	/* Only what the parts need: no probes, no file list. */
	assert_int_equal(fake.ncalls, 1);
	assert_string_equal(fake.calls[0], "rpm -V hello");
	assert_int_equal(fc.result.nsubs, 1);
	assert_string_equal(fc.result.message, "hello: rpm -V: modified: /usr/bin/hello");
	fake_check_release(&fc);
}

static void test_check_integrity__debsums_absent_uses_dpkg_verify(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, "packages: [hello]\nchecks: [{integrity: {checks: [verify]}}]\n", 0);
	fake_missing("debsums");
	fake_reply("dpkg --verify hello", 0, "??5??????   /usr/bin/hello\n", "");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_FAIL);
	assert_string_equal(fc.result.message, "hello: dpkg --verify: modified: /usr/bin/hello");
	fake_check_release(&fc);
}

static void test_check_integrity__dpkg_path_exclude_is_not_missing(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, "packages: [hello]\nchecks: [{integrity: {checks: [verify, files]}}]\n", 0);
	fake_reply("grep -rhsE", 0, "path-exclude=/usr/share/doc/*\npath-include=/usr/share/doc/*/copyright\n", "");
	fake_reply("debsums", 2, "", "debsums: missing file /usr/share/doc/hello/README (from hello package)\n");
	fake_reply("dpkg-query -L hello", 0, "/usr/share/doc/hello/README\n/usr/share/doc/hello/copyright\n", "");
	fake_reply("stat", 1, "", "");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_FAIL);
	assert_int_equal(fake_sub(&fc, "hello: debsums")->status, CHECK_PASS);
	assert_string_equal(fake_sub(&fc, "hello: files exist")->message, "missing: /usr/share/doc/hello/copyright");
	fake_check_release(&fc);
}

static void test_check_integrity__root_mode_prefixes_and_follows_links(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake.root = "/scr";
	fake_check_init(&fc, "packages: [hello]\nenvironment: {root: /scr}\nchecks: [integrity]\n", 0);
	fake_reply("debsums -s --root=/scr hello", 0, "", "");
	fake_reply("dpkg-query --root=/scr -L hello", 0, "/usr/bin/hello\n/usr/bin/abs\n/usr/bin/rel\n", "");
	fake_reply("stat --printf %F\\t%a\\t%n\\n", 0,
		   "regular file\t755\t/scr/usr/bin/hello\nsymbolic link\t777\t/scr/usr/bin/abs\n"
		   "symbolic link\t777\t/scr/usr/bin/rel\n", "");
	fake_reply("readlink -- /scr/usr/bin/abs /scr/usr/bin/rel", 0, "/usr/bin/hello\n../gone\n", "");
	/* Absolute targets are looked up inside the root. */
	fake_reply("stat --printf %F\\t%n\\n -- /scr/usr/bin/hello /scr/usr/bin/../gone", 1,
		   "regular file\t/scr/usr/bin/hello\n", "");
	fake_reply("readelf", 0, "", "");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_FAIL);
	assert_string_equal(fc.result.message, "hello: symlinks: dangling: /usr/bin/rel");
	assert_int_equal(fake_sub(&fc, "hello: ldd")->status, CHECK_SKIP);
	assert_true(fake_find_call("readelf -d -W -- /scr/usr/bin/hello") >= 0);
	assert_int_equal(fake_find_call("ldd"), -1);
	fake_check_release(&fc);
}

static void test_check_integrity__missing_tools_skip(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, "packages: [hello]\nchecks: [{integrity: {checks: [ldd, rpath]}}]\n", 0);
	fake_missing("ldd");
	fake_missing("readelf");
	fake_reply("dpkg-query -L hello", 0, "/usr/bin/hello\n", "");
	fake_reply("stat", 0, "regular file\t755\t/usr/bin/hello\n", "");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_PASS);
	assert_string_equal(fake_sub(&fc, "hello: ldd")->message, "ldd is not installed in the environment");
	assert_int_equal(fake_sub(&fc, "hello: rpath")->status, CHECK_SKIP);
	fake_check_release(&fc);
}

static void test_check_integrity__not_installed(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, "packages: [hello]\nchecks: [{integrity: {checks: [files, symlinks]}}]\n", 0);
	fake_reply("dpkg-query -L", 1, "", "dpkg-query: package 'hello' is not installed\n");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_FAIL);
	assert_string_equal(fc.result.message, "hello: files exist: cannot list the files (exit 1): dpkg-query: "
					       "package 'hello' is not installed");
	assert_int_equal(fc.result.nsubs, 1);
	fake_check_release(&fc);
}

static void test_check_integrity__many_files_are_batched(void **state)
{
	struct fake_check fc;
	struct sbuf list = SBUF_INIT;
	size_t nstat = 0;

	ALTS_UNUSED(state);
	fake_reset();
	for (int i = 0; i < 1200; i++)
		sbuf_addf(&list, "/usr/share/hello/f%04d\n", i);
	fake_check_init(&fc, "packages: [hello]\nchecks: [{integrity: {checks: [files]}}]\n", 0);
	fake_reply("dpkg-query -L", 0, list.buf, "");
	assert_int_equal(fake_check_run(&fc), 0);
	for (size_t i = 0; i < fake.ncalls; i++)
		nstat += !strncmp(fake.calls[i], "stat ", 5);
	assert_int_equal(nstat, 3);
	/* The fake printed nothing, so every file is missing; the message names three. */
	assert_string_equal(fake_sub(&fc, "hello: files exist")->message,
			    "missing: /usr/share/hello/f0000; missing: /usr/share/hello/f0001; "
			    "missing: /usr/share/hello/f0002 (and 1197 more)");
	sbuf_release(&list);
	fake_check_release(&fc);
}

static void test_check_integrity__load_time_errors(void **state)
{
	struct suite *s = NULL;
	struct alts_err err = ALTS_ERR_INIT;
	static const char *const bad[][2] = {
		{ "packages: [a]\nchecks: [{integrity: {checks: [md5]}}]\n", "unknown integrity check 'md5'" },
		{ "packages: [a]\nchecks: [{integrity: {ignore: [etc]}}]\n", "'etc' is not an absolute path pattern" },
		{ "packages: [a]\nchecks: [{integrity: {packages: [b]}}]\n", "'b' is not one of the suite's packages" },
	};

	ALTS_UNUSED(state);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(bad); i++) {
		assert_int_equal(suite_load_buffer(&s, "s.yaml", "/", bad[i][0], strlen(bad[i][0]), &err), ALTS_EINVALID);
		if (!strstr(err.msg, bad[i][1]))
			fail_msg("case %zu: '%s' does not contain '%s'", i, err.msg, bad[i][1]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_integrity__clean_package_passes_every_part),
		cmocka_unit_test(test_check_integrity__each_problem_is_named),
		cmocka_unit_test(test_check_integrity__library_without_interpreter_uses_the_shell_loader),
		cmocka_unit_test(test_check_integrity__ldd_lists_what_no_loader_can),
		cmocka_unit_test(test_check_integrity__ldd_part_survives_oom),
		cmocka_unit_test(test_check_integrity__cut_readelf_output_goes_to_ldd),
		cmocka_unit_test(test_check_integrity__cut_loader_output_goes_to_ldd),
		cmocka_unit_test(test_check_integrity__no_readelf_uses_ldd),
		cmocka_unit_test(test_check_integrity__rpm_verify_and_ignore),
		cmocka_unit_test(test_check_integrity__debsums_absent_uses_dpkg_verify),
		cmocka_unit_test(test_check_integrity__dpkg_path_exclude_is_not_missing),
		cmocka_unit_test(test_check_integrity__root_mode_prefixes_and_follows_links),
		cmocka_unit_test(test_check_integrity__missing_tools_skip),
		cmocka_unit_test(test_check_integrity__not_installed),
		cmocka_unit_test(test_check_integrity__many_files_are_batched),
		cmocka_unit_test(test_check_integrity__load_time_errors),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	fake_reset();
	return rc;
}
