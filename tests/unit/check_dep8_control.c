/* checks/dep8_control.c: debian/tests/control and debian/control as autopkgtest reads them. */
#include "tests/unit/helpers.h"

#include "checks/dep8_control.h"
#include "framework/alloc.h"
#include "framework/sbuf.h"

static struct arena *arena;

static int setup(void **state)
{
	ALTS_UNUSED(state);
	arena = arena_new();
	return arena ? 0 : -1;
}

static int teardown(void **state)
{
	ALTS_UNUSED(state);
	arena_free(arena);
	arena = NULL;
	return 0;
}

static struct dep8_control parse_ok(const char *text)
{
	struct dep8_control c;
	struct alts_err err = ALTS_ERR_INIT;

	assert_ok_err(dep8_control_parse(&c, text, strlen(text), "control", arena, &err), &err);
	return c;
}

/* Parsing fails with exactly this message. */
static void parse_fails(const char *text, const char *msg)
{
	struct dep8_control c;
	struct alts_err err = ALTS_ERR_INIT;
	int rc = dep8_control_parse(&c, text, strlen(text), "control", arena, &err);

	if (rc != ALTS_EINVALID)
		fail_msg("'%s' parsed (rc %d), expected '%s'", text, rc, msg);
	assert_string_equal(err.msg, msg);
}

static struct dep8_source source_ok(const char *text)
{
	struct dep8_source s;
	struct alts_err err = ALTS_ERR_INIT;

	assert_ok_err(dep8_source_parse(&s, text, strlen(text), "debian/control", arena, &err), &err);
	return s;
}

/* The expanded depends of c's test i on arch, joined with ", ". */
static const char *expand(const struct dep8_control *c, size_t i, const struct dep8_source *src, const char *arch)
{
	struct strlist out = { NULL, 0 };
	struct alts_err err = ALTS_ERR_INIT;
	struct sbuf sb = SBUF_INIT;
	const char *s;

	assert_ok_err(dep8_depends_expand(&out, &c->tests[i], src, arch, "control", arena, &err), &err);
	for (size_t k = 0; k < out.n; k++)
		sbuf_addf(&sb, "%s%s", k ? ", " : "", out.v[k]);
	s = arena_strndup(arena, sb.buf, sb.len);
	sbuf_release(&sb);
	return s;
}

static void test_check_dep8_control__tests_and_commands(void **state)
{
	struct dep8_control c;

	ALTS_UNUSED(state);
	c = parse_ok("Tests: fred, bill bongo\n"
		     "Depends: pkg1, pkg2 [amd64] | pkg3 (>= 3)\n"
		     "Restrictions: needs-root, breaks-testbed\n"
		     "\n"
		     "Test-Command: foo-cli --list\n"
		     "  --verbose\n"
		     "Restrictions: allow-stderr\n"
		     "\n"
		     "Test-Command: true\n"
		     "Features: test-name=named, other\n"
		     "\n"
		     "Test-Command: false\n"
		     "Tests-Directory: t\n");
	assert_int_equal(c.ntests, 6);
	assert_string_equal(c.tests[0].name, "fred");
	assert_string_equal(c.tests[0].path, "debian/tests/fred");
	assert_null(c.tests[0].command);
	assert_string_equal(c.tests[2].name, "bongo");
	assert_int_equal(c.tests[2].restrictions, DEP8_NEEDS_ROOT | DEP8_BREAKS_TESTBED);
	assert_string_equal(c.tests[2].depends, "pkg1, pkg2 [amd64] | pkg3 (>= 3)");
	assert_int_equal(c.tests[2].depends_line, 2);
	assert_int_equal(c.tests[2].line, 1);
	assert_string_equal(c.tests[3].name, "command1");
	/* Continuation lines join without the line break; the double space becomes one. */
	assert_string_equal(c.tests[3].command, "foo-cli --list --verbose");
	assert_null(c.tests[3].path);
	assert_int_equal(c.tests[3].restrictions, DEP8_ALLOW_STDERR);
	assert_string_equal(c.tests[3].depends, "@");
	assert_int_equal(c.tests[3].depends_line, 5);
	assert_string_equal(c.tests[4].name, "named");
	assert_int_equal(c.tests[4].features.n, 2);
	/* A test-name does not use up a commandN number. */
	assert_string_equal(c.tests[5].name, "command2");
	assert_int_equal(c.tests[5].line, 12);
	for (size_t i = 0; i < c.ntests; i++)
		assert_null(c.tests[i].skip);
}

static void test_check_dep8_control__comments_and_case(void **state)
{
	struct dep8_control c;

	ALTS_UNUSED(state);
	c = parse_ok("# a comment\n"
		     "tests: a # trailing comment\n"
		     "   # an indented comment does not end the field\n"
		     "  b\n"
		     "# between fields\n"
		     "DEPENDS: x,\n"
		     "\ty,\n"
		     "Tests-Directory: upstream/tests\n"
		     "Classes: desktop, graphics-driver\n"
		     "\n\n\n"
		     "Test-Command: echo ok\r\n");
	assert_int_equal(c.ntests, 3);
	assert_string_equal(c.tests[0].name, "a");
	assert_string_equal(c.tests[1].name, "b");
	assert_string_equal(c.tests[1].path, "upstream/tests/b");
	assert_string_equal(c.tests[1].depends, "x,\ty,");
	assert_int_equal(c.tests[1].classes.n, 2);
	assert_string_equal(c.tests[2].command, "echo ok");
}

static void test_check_dep8_control__every_restriction(void **state)
{
	static const char *const names[] = { "allow-stderr", "breaks-testbed", "build-needed", "flaky",
					     "hint-testsuite-triggers", "isolation-container", "isolation-machine",
					     "needs-internet", "needs-reboot", "needs-recommends", "needs-root",
					     "needs-sudo", "rw-build-tree", "skip-foreign-architecture",
					     "skip-not-installable", "skippable", "superficial" };
	struct dep8_control c;
	unsigned all = 0;

	ALTS_UNUSED(state);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(names); i++) {
		unsigned bit = dep8_restriction_lookup(names[i]);

		assert_int_not_equal(bit, 0);
		assert_int_equal(all & bit, 0);
		all |= bit;
	}
	assert_int_equal(dep8_restriction_lookup("needs-magic"), 0);
	c = parse_ok("Tests: t\nRestrictions: allow-stderr breaks-testbed build-needed flaky hint-testsuite-triggers "
		     "isolation-container isolation-machine needs-internet needs-reboot needs-recommends needs-root "
		     "needs-sudo rw-build-tree skip-foreign-architecture skip-not-installable skippable superficial\n");
	assert_int_equal(c.tests[0].restrictions, all);
	assert_null(c.tests[0].skip);
}

static void test_check_dep8_control__unknown_things_skip(void **state)
{
	struct dep8_control c;

	ALTS_UNUSED(state);
	c = parse_ok("Tests: a\nRestrictions: needs-root, needs-magic\n\n"
		     "Tests: b\nX-Unknown: 1\nRestrictions: needs-magic\n\n"
		     "Tests: ../escape\n\n"
		     "Test-Command: true\nFeatures: test-name=x/y\n");
	assert_string_equal(c.tests[0].skip, "unknown restriction needs-magic");
	assert_int_equal(c.tests[0].restrictions, DEP8_NEEDS_ROOT);
	assert_string_equal(c.tests[1].skip, "unknown field X-Unknown");
	assert_string_equal(c.tests[2].skip, "test name may not contain / character");
	assert_string_equal(c.tests[3].skip, "test name may not contain / character");
}

/* The malformed-file table: each gives exit 2 with file:line. */
static void test_check_dep8_control__errors(void **state)
{
	ALTS_UNUSED(state);
	parse_fails("", "control:1: no test stanza (a DEP-8 control file names at least one test)");
	parse_fails("# only a comment\n\n", "control:1: no test stanza (a DEP-8 control file names at least one test)");
	parse_fails("Tests: a\nthis is not a field\n", "control:2: expected 'Field: value', got 'this is not a field'");
	parse_fails(" Tests: a\n", "control:1: continuation line outside a field: ' Tests: a'");
	parse_fails("Tests: a\n\n  b\n", "control:3: continuation line outside a field: '  b'");
	parse_fails(": a\n", "control:1: expected 'Field: value', got ': a'");
	parse_fails("Tests: a\ntests: b\n", "control:2: duplicate field 'tests' (first on line 1)");
	parse_fails("Depends: a\n", "control:1: missing \"Tests\" or \"Test-Command\" field");
	parse_fails("Tests: a\n\nRestrictions: needs-root\n", "control:3: missing \"Tests\" or \"Test-Command\" field");
	parse_fails("Tests: a\nTest-Command: true\n", "control:2: only one of \"Tests\" or \"Test-Command\" may be given");
	parse_fails("Tests: ,\n", "control:1: \"Tests\" field is empty");
	parse_fails("Tests:\n", "control:1: \"Tests\" field is empty");
	parse_fails("Test-Command: true\nFeatures: test-name\n", "control:2: test-name feature with no argument");
	parse_fails("Test-Command: true\nFeatures: test-name=\n", "control:2: test-name feature with no argument");
	parse_fails("Test-Command: true\nFeatures: test-name=a test-name=b\n",
		    "control:2: only one test-name feature allowed");
	parse_fails("Tests: a\nFeatures: test-name=b\n", "control:2: test-name feature incompatible with Tests");
	parse_fails("Tests: a\nTests-Directory: /etc\n",
		    "control:2: Tests-Directory '/etc' must be a relative path inside the source tree");
	parse_fails("Tests: a\nTests-Directory: debian/../../x\n",
		    "control:2: Tests-Directory 'debian/../../x' must be a relative path inside the source tree");
	parse_fails("Tests: a\n\nTests: b\nDepends: foo (~= 1)\n",
		    "control:4: Depends: invalid dependency 'foo (~= 1)': version relation must be one of << <= = >= >>");
	parse_fails("Tests: a\nDepends: Foo\n", "control:2: Depends: invalid dependency 'Foo': invalid package name");
	parse_fails("Tests: a\nDepends: foo (>= )\n", "control:2: Depends: invalid dependency 'foo (>= )': invalid version");
	parse_fails("Tests: a\nDepends: foo (>= 1\n",
		    "control:2: Depends: invalid dependency 'foo (>= 1': expected ')' after the version");
	parse_fails("Tests: a\nDepends: foo [amd64\n",
		    "control:2: Depends: invalid dependency 'foo [amd64': missing ']' after the architectures");
	parse_fails("Tests: a\nDepends: foo [amd64 !i386]\n",
		    "control:2: Depends: invalid dependency 'foo [amd64 !i386]': architectures in [...] must be all "
		    "negated or none");
	parse_fails("Tests: a\nDepends: a |, b\n", "control:2: Depends: empty alternative in 'a |'");
	parse_fails("Tests: a\nDepends: foo bar\n",
		    "control:2: Depends: invalid dependency 'foo bar': unexpected text after the relation");
	parse_fails("Tests: a\nDepends: foo <!nocheck\n",
		    "control:2: Depends: invalid dependency 'foo <!nocheck': missing '>' after the build profiles");
	parse_fails("Tests: a\nDepends: x,\n  foo:\n",
		    "control:2: Depends: invalid dependency 'foo:': empty architecture qualifier after ':'");
	{
		static const char nul[] = "Tests: a\nDepends: b\0c\n";
		struct dep8_control c;
		struct alts_err err = ALTS_ERR_INIT;

		assert_int_equal(dep8_control_parse(&c, nul, sizeof(nul) - 1, "control", arena, &err), ALTS_EINVALID);
		assert_string_equal(err.msg, "control:2: NUL byte in the file");
	}
}

static void test_check_dep8_control__architecture_field(void **state)
{
	struct dep8_control c;

	ALTS_UNUSED(state);
	c = parse_ok("Tests: a\nArchitecture: amd64 arm64\n\n"
		     "Tests: b\nArchitecture: !i386, !any-arm\n\n"
		     "Tests: c\nArchitecture: all\n\n"
		     "Tests: d\nArchitecture: amd64 !i386\n\n"
		     "Tests: e\nArchitecture: any\n\n"
		     "Tests: f\nArchitecture: linux-any\n");
	assert_null(dep8_arch_excluded(&c.tests[0], "amd64", arena));
	assert_string_equal(dep8_arch_excluded(&c.tests[0], "i386", arena),
			    "Test lists explicitly supported architectures, but the current architecture i386 isn't listed.");
	assert_null(dep8_arch_excluded(&c.tests[1], "amd64", arena));
	assert_string_equal(dep8_arch_excluded(&c.tests[1], "i386", arena),
			    "Test declares architecture as not supported: i386");
	assert_string_equal(dep8_arch_excluded(&c.tests[1], "armhf", arena),
			    "Test declares architecture as not supported: armhf");
	assert_string_equal(dep8_arch_excluded(&c.tests[2], "amd64", arena),
			    "Arch 'all' not allowed in Architecture field");
	assert_non_null(dep8_arch_excluded(&c.tests[3], "amd64", arena));
	assert_null(dep8_arch_excluded(&c.tests[4], "s390x", arena));
	assert_null(dep8_arch_excluded(&c.tests[5], "s390x", arena));
	assert_true(dep8_arch_matches("armel", "any-arm"));
	assert_false(dep8_arch_matches("arm64", "any-arm"));
	assert_false(dep8_arch_matches("amd64", "kfreebsd-any"));
	assert_true(dep8_arch_matches("amd64", "linux-amd64"));
}

static const char debian_control[] =
	"Source: hello\n"
	"Build-Depends: debhelper-compat (= 13), libfoo-dev [amd64], libbar-dev [!amd64],\n"
	" check <!nocheck>, docs <doc>\n"
	"Build-Depends-Indep: python3:native\n"
	"\n"
	"Package: hello\n"
	"Architecture: any\n"
	"Recommends: hello-doc, rec-a [i386] | rec-b\n"
	"\n"
	"Package: hello-doc\n"
	"Architecture: all\n"
	"\n"
	"Package: hello-amd64-only\n"
	"Architecture: amd64 arm64\n"
	"\n"
	"Package: hello-udeb\n"
	"Package-Type: udeb\n"
	"Architecture: any\n";

static void test_check_dep8_control__source(void **state)
{
	struct dep8_source s;
	struct dep8_source bad;
	struct alts_err err = ALTS_ERR_INIT;
	static const char broken[] = "Source: x\nBuild-Depends: a (>> 1\n";

	ALTS_UNUSED(state);
	s = source_ok(debian_control);
	assert_string_equal(s.name, "hello");
	assert_int_equal(s.nbins, 3);
	assert_string_equal(s.bins[2].name, "hello-amd64-only");
	assert_string_equal(s.bins[2].arch, "amd64 arm64");
	assert_string_equal(s.build_depends, "debhelper-compat (= 13), libfoo-dev [amd64], libbar-dev [!amd64], "
					     "check <!nocheck>, docs <doc>, python3:native");
	assert_int_equal(dep8_source_parse(&bad, broken, strlen(broken), "debian/control", arena, &err), ALTS_EINVALID);
	assert_string_equal(err.msg, "debian/control:2: Build-Depends: invalid dependency 'a (>> 1': expected ')' after "
				     "the version");
}

static void test_check_dep8_control__depends_expansion(void **state)
{
	struct dep8_source s;
	struct dep8_control c;

	ALTS_UNUSED(state);
	s = source_ok(debian_control);
	c = parse_ok("Tests: default\n\n"
		     "Tests: all\nDepends: @, curl (>= 7.0) | wget [!i386], foo [i386], bar:any <!nocheck>, baz <nocheck>\n\n"
		     "Tests: build\nDepends: @builddeps@, make\n\n"
		     "Tests: rec\nDepends: @recommends@\n\n"
		     "Tests: versioned\nDepends: @ (>= 1.0)\n\n"
		     "Tests: none\nDepends:\n");
	assert_string_equal(expand(&c, 0, &s, "amd64"), "hello, hello-doc, hello-amd64-only");
	assert_string_equal(expand(&c, 0, &s, "i386"), "hello, hello-doc");
	assert_string_equal(expand(&c, 1, &s, "amd64"),
			    "hello, hello-doc, hello-amd64-only, curl (>= 7.0) | wget, bar:any");
	assert_string_equal(expand(&c, 1, &s, "i386"), "hello, hello-doc, curl (>= 7.0), foo, bar:any");
	assert_string_equal(expand(&c, 2, &s, "amd64"),
			    "debhelper-compat (= 13), libfoo-dev, check, python3:native, build-essential, make");
	assert_string_equal(expand(&c, 2, &s, "arm64"),
			    "debhelper-compat (= 13), libbar-dev, check, python3:native, build-essential, make");
	assert_string_equal(expand(&c, 3, &s, "amd64"), "hello-doc, rec-b");
	assert_string_equal(expand(&c, 3, &s, "i386"), "hello-doc, rec-a | rec-b");
	assert_string_equal(expand(&c, 4, &s, "i386"), "hello (>= 1.0), hello-doc (>= 1.0)");
	assert_string_equal(expand(&c, 5, &s, "amd64"), "");
}

static void test_check_dep8_control__survives_oom(void **state)
{
	static const char text[] = "Tests: a b\nDepends: @, x | y [amd64]\nRestrictions: needs-root\n\n"
				   "Test-Command: true\n";
	unsigned long n;

	ALTS_UNUSED(state);
	alts_alloc_fail_at(0);
	{
		struct arena *a = arena_new();
		struct dep8_control c;
		struct alts_err err = ALTS_ERR_INIT;

		assert_int_equal(dep8_control_parse(&c, text, sizeof(text) - 1, "control", a, &err), 0);
		arena_free(a);
	}
	n = alts_alloc_fail_at(0);
	for (unsigned long i = 1; i <= n; i++) {
		struct arena *a;
		struct dep8_control c;
		struct alts_err err = ALTS_ERR_INIT;
		int rc;

		alts_alloc_fail_at(i);
		a = arena_new();
		rc = a ? dep8_control_parse(&c, text, sizeof(text) - 1, "control", a, &err) : ALTS_ENOMEM;
		alts_alloc_fail_at(0);
		assert_true(rc == 0 || rc == ALTS_ENOMEM || rc == ALTS_EINVALID);
		arena_free(a);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_check_dep8_control__tests_and_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_dep8_control__comments_and_case, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_dep8_control__every_restriction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_dep8_control__unknown_things_skip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_dep8_control__errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_dep8_control__architecture_field, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_dep8_control__source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_dep8_control__depends_expansion, setup, teardown),
		cmocka_unit_test(test_check_dep8_control__survives_oom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
