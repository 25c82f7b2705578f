#include "tests/unit/helpers.h"

#include <ftw.h>
#include <unistd.h>

static char sandbox_dir[PATH_MAX];
static char fixture_path[PATH_MAX];

const char *test_sandbox_init(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(sandbox_dir, sizeof(sandbox_dir), "%s/alts-unit-XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(sandbox_dir))
		fail_msg("mkdtemp: %s", strerror(errno));
	return sandbox_dir;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	ALTS_UNUSED(sb);
	ALTS_UNUSED(flag);
	ALTS_UNUSED(ftw);
	return remove(path);
}

void test_sandbox_cleanup(void)
{
	if (sandbox_dir[0])
		nftw(sandbox_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	sandbox_dir[0] = '\0';
}

char *test_write_file(const char *name, const char *data)
{
	char *path = alts_asprintf("%s/%s", sandbox_dir, name);
	FILE *f;

	assert_non_null(path);
	f = fopen(path, "w");
	if (!f)
		fail_msg("cannot write '%s': %s", path, strerror(errno));
	fputs(data, f);
	fclose(f);
	return path;
}

const char *test_fixture(const char *name)
{
	const char *dir = getenv("ALTS_FIXTURES");

	snprintf(fixture_path, sizeof(fixture_path), "%s/%s", dir ? dir : ALTS_SOURCE_DIR "/tests/fixtures",
		 name);
	return fixture_path;
}
