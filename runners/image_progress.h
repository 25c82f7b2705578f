#ifndef ALTS_IMAGE_PROGRESS_H
#define ALTS_IMAGE_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/*
 * A one-line progress display for alts-image build and import, redrawn on
 * a terminal about twice a second:
 *
 *   alts-image: debian-12: retrieving packages 57 (libc6), 21.3 MiB, 0:42
 *   alts-image: debian-12: unpacking 412.0 MiB of 1.2 GiB (34%), 0:07
 *
 * It reads the tools' output: debootstrap's "I: Retrieving PKG VERSION",
 * "I: Extracting PKG...", "I: Unpacking PKG...", "I: Configuring PKG..."
 * lines, dnf's "(N/M): PKG.rpm" downloads and "  Installing : PKG  N/M" and
 * "  Verifying : PKG  N/M" transaction lines, and tar's checkpoints
 * (image_progress_tar_args). Everything goes
 * to the log as before; the display only summarises it.
 */
struct image_progress;

/*
 * True when a display is wanted: not quiet, fd is a terminal, TERM is not
 * "dumb" and CI is not set (CI logs get the plain lines instead).
 */
bool image_progress_wanted(bool quiet, int fd);

/*
 * Starts a display for the image `name` on out (a ticker thread redraws the
 * line). total_bytes: the size of what is unpacked, when known (a plain
 * tar), else 0. Returns NULL when disabled or out of memory: every other
 * function accepts NULL and does nothing.
 */
struct image_progress *image_progress_start(const char *name, FILE *out, bool enabled, double total_bytes);

/* Feeds tool output (any chunks: lines are reassembled). */
void image_progress_feed(struct image_progress *p, const char *buf, size_t len);

/* Clears the line and stops the ticker; frees p. */
void image_progress_finish(struct image_progress *p);

/*
 * The arguments that make GNU tar report progress: a checkpoint line
 * "alts-progress N" on stderr every 1000 records (10 MiB).
 */
#define IMAGE_PROGRESS_TAR_CHECKPOINT "--checkpoint=1000"
#define IMAGE_PROGRESS_TAR_ACTION "--checkpoint-action=echo=alts-progress %u"
#define IMAGE_PROGRESS_TAR_RECORD 10240.0 /* bytes per record (blocking factor 20) */

/* For tests: the state machine without a thread or a terminal. */
struct image_progress_state {
	char phase[32];     /* "starting", "retrieving", "validating", "extracting", "unpacking", "configuring",
			       dnf's "installing", "verifying" */
	char current[64];   /* the package being worked on */
	long packages;      /* packages done in this phase */
	double bytes;       /* bytes unpacked (tar) */
	double total_bytes; /* 0: unknown */
};
void image_progress_state_line(struct image_progress_state *s, const char *line);
/* Formats the display line (no newline) for `elapsed` seconds; returns buf. */
const char *image_progress_state_render(const struct image_progress_state *s, const char *name, double elapsed,
					char *buf, size_t size);

#endif
