/* alts-image's progress line: debootstrap's and tar's output summarised on a terminal. */
#include "framework/common.h"
#include "framework/proc.h"
#include "runners/image_progress.h"

#include <pthread.h>
#include <unistd.h>

#define PROGRESS_TICK_US 500000

struct image_progress {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t ticker;
	bool stop;
	FILE *out;
	char name[128];
	double started;
	size_t width;           /* of the last line drawn, to clear it */
	char partial[512];      /* an unfinished line of output */
	size_t partial_len;
	struct image_progress_state s;
};

bool image_progress_wanted(bool quiet, int fd)
{
	const char *term = getenv("TERM"), *ci = getenv("CI");

	if (quiet || !isatty(fd))
		return false;
	if (term && !strcmp(term, "dumb"))
		return false;
	return !ci || !*ci || !strcmp(ci, "0") || !strcmp(ci, "false");
}

static void set_phase(struct image_progress_state *s, const char *phase)
{
	if (strcmp(s->phase, phase)) {
		snprintf(s->phase, sizeof(s->phase), "%s", phase);
		s->packages = 0;
		s->current[0] = '\0';
	}
}

/* "I: Retrieving libc6 2.36-9" -> phase retrieving, current libc6; "I: Unpacking foo..." likewise. */
/*
 * dnf's lines: "(12/215): bash-5.1.8-9.el9.x86_64.rpm  1.2 MB/s | ..." while
 * downloading, "  Installing       : bash-5.1.8-9.el9.x86_64   12/215" and
 * "  Verifying        : ..." in the transaction. True when line was one.
 */
static bool dnf_line(struct image_progress_state *s, const char *line)
{
	static const struct { const char *verb, *phase; } steps[] = {
		{ "Installing", "installing" }, { "Upgrading", "installing" }, { "Verifying", "verifying" },
	};
	const char *p = line, *colon;
	long done;
	char *end;

	if (*p == '(') {
		done = strtol(p + 1, &end, 10);
		if (end == p + 1 || *end != '/' || !(p = strstr(end, "): ")))
			return false;
		set_phase(s, "retrieving");
		s->packages = done;
		p += 3;
		snprintf(s->current, sizeof(s->current), "%.*s", (int)strcspn(p, " "), p);
		return true;
	}
	while (*p == ' ')
		p++;
	colon = strstr(p, " : ");
	if (p == line || !colon)
		return false;
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(steps); i++) {
		size_t n = strlen(steps[i].verb);

		if (strncmp(p, steps[i].verb, n) || (p[n] != ' ' && p[n] != ':'))
			continue;
		set_phase(s, steps[i].phase);
		p = colon + 3;
		snprintf(s->current, sizeof(s->current), "%.*s", (int)strcspn(p, " "), p);
		p += strcspn(p, " ");
		done = strtol(p, &end, 10);
		if (end != p && *end == '/')
			s->packages = done;
		return true;
	}
	return false;
}

void image_progress_state_line(struct image_progress_state *s, const char *line)
{
	static const struct { const char *prefix, *phase; } verbs[] = {
		{ "I: Retrieving ", "retrieving" }, { "I: Validating ", "validating" },
		{ "I: Extracting ", "extracting" }, { "I: Unpacking ", "unpacking" },
		{ "I: Configuring ", "configuring" },
	};
	const char *p = strstr(line, "alts-progress ");

	if (p) {
		char *end;
		double records = strtod(p + strlen("alts-progress "), &end);

		if (end != p + strlen("alts-progress ")) {
			set_phase(s, "unpacking");
			s->bytes = records * IMAGE_PROGRESS_TAR_RECORD;
		}
		return;
	}
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(verbs); i++) {
		size_t n = strlen(verbs[i].prefix), len;
		const char *word = line + n;

		if (strncmp(line, verbs[i].prefix, n))
			continue;
		set_phase(s, verbs[i].phase);
		/* "I: Unpacking required packages..." and "I: Retrieving Release" are steps, not packages. */
		len = strcspn(word, " .");
		if (!len || !strncmp(word, "required ", 9) || !strncmp(word, "the ", 4) || !strcmp(word, "Release") ||
		    !strcmp(word, "Packages") || !strcmp(word, "InRelease") || !strncmp(word, "base system", 11))
			return;
		s->packages++;
		snprintf(s->current, sizeof(s->current), "%.*s", (int)(len < 63 ? len : 63), word);
		return;
	}
	if (dnf_line(s, line))
		return;
	if (!strncmp(line, "I: Resolving dependencies", 25) || !strncmp(line, "I: Checking", 11))
		set_phase(s, "resolving");
	else if (!strncmp(line, "I: Base system installed", 24))
		set_phase(s, "done");
}

static void human_bytes(char *buf, size_t size, double b)
{
	if (b >= 1024.0 * 1024 * 1024)
		snprintf(buf, size, "%.1f GiB", b / (1024.0 * 1024 * 1024));
	else
		snprintf(buf, size, "%.1f MiB", b / (1024.0 * 1024));
}

const char *image_progress_state_render(const struct image_progress_state *s, const char *name, double elapsed,
					char *buf, size_t size)
{
	char what[160] = "", bytes[32], total[32];
	long secs = elapsed < 0 ? 0 : (long)elapsed;

	if (s->bytes > 0) {
		human_bytes(bytes, sizeof(bytes), s->bytes);
		if (s->total_bytes > 0) {
			double pct = 100.0 * s->bytes / s->total_bytes;

			human_bytes(total, sizeof(total), s->total_bytes);
			snprintf(what, sizeof(what), " %s of %s (%d%%)", bytes, total, (int)(pct > 100 ? 100 : pct));
		} else {
			snprintf(what, sizeof(what), " %s", bytes);
		}
	} else if (s->packages) {
		snprintf(what, sizeof(what), " %ld package%s%s%s%s", s->packages, s->packages == 1 ? "" : "s",
			 *s->current ? " (" : "", s->current, *s->current ? ")" : "");
	}
	snprintf(buf, size, "alts-image: %s: %s%s, %ld:%02ld", name, *s->phase ? s->phase : "starting", what,
		 secs / 60, secs % 60);
	return buf;
}

/* Called with the lock held. */
static void draw(struct image_progress *p)
{
	char line[256];
	size_t n;

	image_progress_state_render(&p->s, p->name, proc_now() - p->started, line, sizeof(line));
	n = strlen(line);
	fprintf(p->out, "\r%s", line);
	for (size_t i = n; i < p->width; i++)
		fputc(' ', p->out);
	fflush(p->out);
	p->width = n;
}

static void *tick(void *arg)
{
	struct image_progress *p = arg;

	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		struct timespec ts;

		draw(p);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += PROGRESS_TICK_US * 1000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&p->cond, &p->lock, &ts);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct image_progress *image_progress_start(const char *name, FILE *out, bool enabled, double total_bytes)
{
	struct image_progress *p;

	if (!enabled || !out)
		return NULL;
	p = alts_calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->out = out;
	p->started = proc_now();
	p->s.total_bytes = total_bytes;
	snprintf(p->name, sizeof(p->name), "%s", name);
	if (pthread_create(&p->ticker, NULL, tick, p)) {
		pthread_cond_destroy(&p->cond);
		pthread_mutex_destroy(&p->lock);
		alts_free(p);
		return NULL;
	}
	return p;
}

void image_progress_feed(struct image_progress *p, const char *buf, size_t len)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n' || buf[i] == '\r') {
			p->partial[p->partial_len] = '\0';
			if (p->partial_len)
				image_progress_state_line(&p->s, p->partial);
			p->partial_len = 0;
		} else if (p->partial_len < sizeof(p->partial) - 1) {
			p->partial[p->partial_len++] = buf[i];
		}
	}
	pthread_mutex_unlock(&p->lock);
}

void image_progress_finish(struct image_progress *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->ticker, NULL);
	fprintf(p->out, "\r%*s\r", (int)p->width, "");
	fflush(p->out);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	alts_free(p);
}
