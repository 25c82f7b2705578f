/*
 * The ssh runner: checks run on an existing host (a VM from any cloud)
 * reached with the system ssh client. Every ssh option alts needs is
 * given on the command line; the user's ~/.ssh/config still applies for
 * everything else (ProxyJump and the like).
 *
 * - One connection for the whole suite: a ControlMaster socket in a
 *   private directory on this host (ControlPersist keeps it between
 *   commands), so a command does not pay for a handshake.
 * - A command is one remote string made by ssh__exec_script(): every
 *   value is a single-quoted word (runners/ssh.h). sshd gives each
 *   session's command a session and process group of its own; the script
 *   records that group's id, and a timeout kills the group on the host
 *   (TERM, then KILL) through a second channel, background children
 *   included. The remote shell reports a command killed by signal n as
 *   128+n; the status is also written to a file so that ssh's own 255 can
 *   be told from the command's.
 * - Copies are tar streams over the connection: binary-safe, any name.
 * - A command whose output contains >>>VMRESTART<<< has the host
 *   rebooted (environment.ssh.reboot_command) and the runner waits until
 *   ssh answers again after it went away or its boot id changed.
 * - Teardown kills what is left of the suite's process groups, removes
 *   the remote directory (/var/tmp/alts-ssh.XXXXXX, which survives a
 *   reboot) and stops the master connection.
 */
#include "framework/common.h"
#include "runners/ssh.h"
#include "runners/runner_tar.h"
#include "runners/runner_util.h"
#include "framework/fs.h"
#include "framework/log.h"
#include "framework/suite.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define SSH_DEFAULT_CONNECT_TIMEOUT 30
#define SSH_DEFAULT_REBOOT_TIMEOUT 600
#define SSH_CONTROL_PERSIST "120"
#define SSH_HELPER_TIMEOUT 120.0  /* setup, probes, kills, teardown */
#define SSH_COPY_TIMEOUT 3600.0
#define SSH_OUTPUT_MAX 65536

enum ssh_mode {
	SSH_MUX,     /* through the master connection (made when missing) */
	SSH_DIRECT,  /* a connection of its own: reboot probes */
	SSH_EXIT,    /* stop the master */
};

struct ssh {
	const struct ssh_conf *conf;
	char local[PATH_MAX];      /* this host: control socket and scratch files */
	char opt_control[PATH_MAX + 16];
	char opt_known_hosts[PATH_MAX + 32];
	char opt_strict[64];
	char opt_timeout[64];
	char port[16];
	char *base;                /* remote: holds work/ and run/ */
	char *boot_id;
	unsigned long nexec;
	unsigned long nfile;
	bool master;               /* a master connection may be running */
};

/* --- remote strings --- */

void ssh__quote(struct sbuf *sb, const char *arg)
{
	sbuf_addch(sb, '\'');
	for (const char *p = arg; *p; p++) {
		if (*p == '\'')
			sbuf_adds(sb, "'\\''");
		else
			sbuf_addch(sb, *p);
	}
	sbuf_addch(sb, '\'');
}

void ssh__quote_argv(struct sbuf *sb, const char *const *argv)
{
	for (const char *const *a = argv; a && *a; a++) {
		if (a != argv)
			sbuf_addch(sb, ' ');
		ssh__quote(sb, *a);
	}
}

void ssh__exec_script(struct sbuf *sb, const char *pid_file, const char *rc_file, const char *cwd,
		      const char *const *env, const char *const *argv)
{
	sbuf_adds(sb, "echo $$ >");
	ssh__quote(sb, pid_file);
	sbuf_adds(sb, " || exit 127\ncd ");
	ssh__quote(sb, cwd);
	sbuf_adds(sb, " || exit 127\nenv -i");
	for (const char *const *e = env; e && *e; e++) {
		sbuf_addch(sb, ' ');
		ssh__quote(sb, *e);
	}
	sbuf_addch(sb, ' ');
	ssh__quote_argv(sb, argv);
	sbuf_adds(sb, "\ns=$?\necho $s >");
	ssh__quote(sb, rc_file);
	sbuf_adds(sb, "\nrm -f ");
	ssh__quote(sb, pid_file);
	sbuf_adds(sb, "\nexit $s\n");
}

void ssh__marker_scan(struct ssh_marker_scan *scan, const char *buf, size_t len)
{
	const size_t mlen = sizeof(SSH_REBOOT_MARKER) - 1;
	char joined[2 * sizeof(SSH_REBOOT_MARKER)];
	size_t head = len < mlen ? len : mlen - 1;

	if (scan->found || !len)
		return;
	/* A marker split between pieces: the kept tail joined with the start of this piece. */
	memcpy(joined, scan->tail, scan->len);
	memcpy(joined + scan->len, buf, head);
	if (memmem(joined, scan->len + head, SSH_REBOOT_MARKER, mlen) || memmem(buf, len, SSH_REBOOT_MARKER, mlen)) {
		scan->found = true;
		return;
	}
	if (len >= mlen - 1) {
		memcpy(scan->tail, buf + len - (mlen - 1), mlen - 1);
		scan->len = mlen - 1;
	} else {
		size_t keep = scan->len + len > mlen - 1 ? mlen - 1 - len : scan->len;

		memmove(scan->tail, scan->tail + scan->len - keep, keep);
		memcpy(scan->tail + keep, buf, len);
		scan->len = keep + len;
	}
}

/* --- running ssh --- */

/* The ssh command line for mode; remote may be NULL (SSH_EXIT). *out is alts_malloc'd, its strings borrowed. */
static int ssh_argv(const char ***out, const struct ssh *s, enum ssh_mode mode, const char *remote,
		    struct alts_err *err)
{
	const struct ssh_conf *c = s->conf;
	const char **v = alts_calloc(48, sizeof(char *));
	size_t n = 0;

	if (!v)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	v[n++] = "ssh";
	v[n++] = "-T";
	v[n++] = "-o";
	v[n++] = "BatchMode=yes";
	v[n++] = "-o";
	v[n++] = "LogLevel=ERROR";
	v[n++] = "-o";
	v[n++] = s->opt_timeout;
	v[n++] = "-o";
	v[n++] = s->opt_strict;
	if (s->opt_known_hosts[0]) {
		v[n++] = "-o";
		v[n++] = s->opt_known_hosts;
	}
	v[n++] = "-o";
	v[n++] = "ServerAliveInterval=15";
	v[n++] = "-o";
	v[n++] = "ServerAliveCountMax=4";
	switch (mode) {
	case SSH_MUX:
		v[n++] = "-o";
		v[n++] = "ControlMaster=auto";
		v[n++] = "-o";
		v[n++] = s->opt_control;
		v[n++] = "-o";
		v[n++] = "ControlPersist=" SSH_CONTROL_PERSIST;
		break;
	case SSH_DIRECT:
		v[n++] = "-o";
		v[n++] = "ControlMaster=no";
		v[n++] = "-o";
		v[n++] = "ControlPath=none";
		break;
	case SSH_EXIT:
		v[n++] = "-o";
		v[n++] = s->opt_control;
		v[n++] = "-O";
		v[n++] = "exit";
		break;
	}
	v[n++] = "-p";
	v[n++] = s->port;
	if (c->user) {
		v[n++] = "-l";
		v[n++] = c->user;
	}
	if (c->identity_file) {
		v[n++] = "-i";
		v[n++] = c->identity_file;
		v[n++] = "-o";
		v[n++] = "IdentitiesOnly=yes";
	}
	v[n++] = "--";
	v[n++] = c->host;
	if (remote)
		v[n++] = remote;
	v[n] = NULL;
	*out = v;
	return 0;
}

struct ssh_call {
	const char *remote;
	const char *stdin_path, *stdout_path, *stderr_path;
	struct proc_capture *stdout_capture, *stderr_capture;
	bool append;
	double timeout;
	volatile const int *cancel;
	proc_output_fn on_output;
	void *payload;
};

static int ssh_run(struct proc_result *res, struct ssh *s, enum ssh_mode mode, const struct ssh_call *call,
		   struct alts_err *err)
{
	struct proc_spec spec = PROC_SPEC_INIT;
	const char **argv = NULL;
	int rc = ssh_argv(&argv, s, mode, call->remote, err);

	if (rc)
		return rc;
	spec.argv = argv;
	spec.envp = (const char *const *)environ;  /* ssh is a host tool: HOME, SSH_AUTH_SOCK */
	spec.stdin_path = call->stdin_path;
	spec.stdout_path = call->stdout_path;
	spec.stderr_path = call->stderr_path;
	spec.stdout_capture = call->stdout_capture;
	spec.stderr_capture = call->stderr_capture;
	spec.append = call->append;
	spec.timeout = call->timeout;
	spec.cancel = call->cancel;
	spec.on_output = call->on_output;
	spec.payload = call->payload;
	rc = proc_run(res, &spec, err);
	if (!rc && res->exec_errno)
		rc = alts_err_errno(err, ALTS_EENV, res->exec_errno, "cannot run ssh");
	if (!rc && mode == SSH_MUX)
		s->master = true;
	alts_free(argv);
	return rc;
}

/* A fresh path in the local directory for one helper's output. */
static void ssh_local_file(struct ssh *s, char *buf, size_t size, const char *what)
{
	snprintf(buf, size, "%s/%s-%lu", s->local, what, ++s->nfile);
}

/*
 * ssh_run with the remote stderr captured: when the command exits non-zero,
 * *why gets what it printed there (trimmed; empty when it printed nothing).
 */
static int ssh_run_capture(struct proc_result *res, struct ssh *s, enum ssh_mode mode, struct ssh_call *call,
			   struct sbuf *why, struct alts_err *err)
{
	char err_path[PATH_MAX + 32];
	int rc;

	ssh_local_file(s, err_path, sizeof(err_path), "err");
	call->stderr_path = err_path;
	rc = ssh_run(res, s, mode, call, err);
	if (!rc && res->exit_code) {
		sbuf_read_file(why, err_path, 4096);
		sbuf_trim_trailing(why);
	}
	unlink(err_path);
	call->stderr_path = NULL;
	return rc;
}

/*
 * Runs a helper script; on 0 the output is in *out (when out is given).
 * A failure (ssh or the script) is ALTS_EENV with what ssh or the script
 * said on stderr.
 */
static int ssh_helper(struct ssh *s, enum ssh_mode mode, const char *remote, double timeout, struct sbuf *out,
		      const char *what, struct alts_err *err)
{
	char out_path[PATH_MAX + 32];
	struct ssh_call call = { 0 };
	struct proc_result res;
	struct sbuf msg = SBUF_INIT;
	int rc;

	ssh_local_file(s, out_path, sizeof(out_path), "out");
	call.remote = remote;
	call.stdout_path = out_path;
	call.timeout = timeout;
	rc = ssh_run_capture(&res, s, mode, &call, &msg, err);
	if (!rc && res.exit_code)
		rc = alts_err_set(err, ALTS_EENV, "cannot %s on '%s'%s: %s", what, s->conf->host,
				  res.timed_out ? " (timed out)" : "",
				  msg.len ? msg.buf : res.exit_code == 255 ? "ssh failed" : "exit status not 0");
	if (!rc && out && sbuf_read_file(out, out_path, SSH_OUTPUT_MAX))
		rc = alts_err_set(err, ALTS_EENV, "cannot read the output of ssh in '%s'", out_path);
	unlink(out_path);
	sbuf_release(&msg);
	return rc;
}

static void ssh_stop_master(struct ssh *s)
{
	struct alts_err ignored = ALTS_ERR_INIT;
	struct ssh_call call = { 0 };
	struct proc_result res;

	if (!s->master)
		return;
	call.timeout = 30;
	ssh_run(&res, s, SSH_EXIT, &call, &ignored);
	s->master = false;
}

/* --- prepare --- */

static int ssh_options(struct runner *r, struct ssh *s, struct alts_err *err)
{
	const struct ssh_conf *c = s->conf;
	const char *tmp = getenv("TMPDIR");
	double timeout = c->connect_timeout > 0 ? c->connect_timeout : SSH_DEFAULT_CONNECT_TIMEOUT;
	const char *strict = c->strict_host_key_checking ? c->strict_host_key_checking : "yes";

	ALTS_UNUSED(r);
	/* A unix socket path is short (108 bytes) and ssh expands '%' in it. */
	if (!tmp || !*tmp || strlen(tmp) > 48 || strpbrk(tmp, "% \t\n\"'"))
		tmp = "/tmp";
	if (!str_fmt(s->local, sizeof(s->local), "%s/alts-ssh-XXXXXX", tmp) || !mkdtemp(s->local)) {
		int e = errno;

		s->local[0] = '\0';
		return alts_err_errno(err, ALTS_EENV, e, "cannot create a directory in '%s'", tmp);
	}
	snprintf(s->opt_control, sizeof(s->opt_control), "ControlPath=%s/cm", s->local);
	snprintf(s->opt_timeout, sizeof(s->opt_timeout), "ConnectTimeout=%ld", (long)(timeout + 0.999));
	snprintf(s->opt_strict, sizeof(s->opt_strict), "StrictHostKeyChecking=%s", strict);
	if (c->known_hosts)
		snprintf(s->opt_known_hosts, sizeof(s->opt_known_hosts), "UserKnownHostsFile=%s", c->known_hosts);
	else if (!strcmp(strict, "no"))
		snprintf(s->opt_known_hosts, sizeof(s->opt_known_hosts), "UserKnownHostsFile=/dev/null");
	str_fmt(s->port, sizeof(s->port), "%ld", c->port > 0 ? c->port : 22);
	return 0;
}

/* Cuts the next line off *text (NUL-terminating it in place). */
static char *next_line(char **text)
{
	char *line = *text, *nl;

	if (!line || !*line)
		return NULL;
	nl = strchr(line, '\n');
	if (nl) {
		*nl = '\0';
		*text = nl + 1;
	} else {
		*text = line + strlen(line);
	}
	return line;
}

static int ssh_setup_remote(struct runner *r, struct ssh *s, struct alts_err *err)
{
	static const char script[] = "b=$(mktemp -d /var/tmp/alts-ssh.XXXXXX) || exit 1\n"
				     "mkdir \"$b/work\" \"$b/run\" || exit 1\n"
				     "echo \"$b\"\n"
				     "uname -m\n"
				     "cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown\n"
				     "cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release 2>/dev/null\n"
				     "exit 0\n";
	struct sbuf out = SBUF_INIT;
	char *text, *base, *arch, *boot;
	int rc = ssh_helper(s, SSH_MUX, script, SSH_HELPER_TIMEOUT, &out, "set up a work directory", err);

	if (rc)
		goto out;
	text = out.buf;
	base = next_line(&text);
	arch = next_line(&text);
	boot = next_line(&text);
	if (!base || base[0] != '/' || !arch || !boot) {
		rc = alts_err_set(err, ALTS_EENV, "unexpected answer from '%s' while setting up: '%.200s'",
				  s->conf->host, out.buf);
		goto out;
	}
	s->base = alts_strdup(base);
	s->boot_id = alts_strdup(boot);
	r->workdir = alts_asprintf("%s/work", base);
	r->info.arch = alts_strdup(arch);
	if (!s->base || !s->boot_id || !r->workdir || !r->info.arch) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	rc = runner_parse_os_release(&r->info, text, err);
out:
	sbuf_release(&out);
	return rc;
}

static int ssh_remove_remote(struct ssh *s, struct alts_err *err)
{
	struct sbuf script = SBUF_INIT;
	int rc;

	sbuf_adds(&script, "b=");
	ssh__quote(&script, s->base);
	sbuf_adds(&script, "\nfor f in \"$b\"/run/pid-*; do\n"
			   "\t[ -f \"$f\" ] && p=$(cat \"$f\") && [ -n \"$p\" ] && kill -KILL -\"$p\" 2>/dev/null\n"
			   "done\n"
			   "rm -rf \"$b\"\n");
	if (!sbuf_ok(&script)) {
		sbuf_release(&script);
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	}
	rc = ssh_helper(s, SSH_MUX, script.buf, SSH_HELPER_TIMEOUT, NULL, "remove the work directory", err);
	sbuf_release(&script);
	if (!rc) {
		alts_free(s->base);
		s->base = NULL;
	}
	return rc;
}

static int ssh_prepare(struct runner *r, struct alts_err *err)
{
	struct ssh *s = r->priv;
	int rc;

	s->conf = r->conf;
	if (!s->conf || !s->conf->host)
		return alts_err_set(err, ALTS_EINVALID, "the ssh runner needs environment.ssh.host");
	r->info.name = r->ops->name;
	rc = ssh_options(r, s, err);
	if (!rc)
		rc = ssh_setup_remote(r, s, err);
	if (rc) {
		struct alts_err ignored = ALTS_ERR_INIT;

		if (s->base)
			ssh_remove_remote(s, &ignored);
		return rc;
	}
	alts_log(ALTS_LOG_DEBUG, r->log, "connected to %s port %s: work directory %s, %s %s", s->conf->host, s->port,
		 r->workdir, r->info.os_id, r->info.os_version);
	return 0;
}

/* --- exec --- */

struct ssh_exec_out {
	struct ssh_marker_scan scan;
	proc_output_fn next;
	void *payload;
};

static void ssh_on_output(void *payload, enum proc_stream stream, const char *buf, size_t len)
{
	struct ssh_exec_out *o = payload;

	ssh__marker_scan(&o->scan, buf, len);
	if (o->next)
		o->next(o->payload, stream, buf, len);
}

/* After a timeout: the command's process group on the host, TERM then KILL. */
static int ssh_kill_group(struct ssh *s, const char *pid_file, struct alts_err *err)
{
	struct sbuf script = SBUF_INIT;
	int rc;

	sbuf_adds(&script, "f=");
	ssh__quote(&script, pid_file);
	sbuf_adds(&script, "\n[ -f \"$f\" ] || exit 0\n"
			   "p=$(cat \"$f\")\n"
			   "[ -n \"$p\" ] || exit 0\n"
			   "kill -TERM -\"$p\" 2>/dev/null || kill -TERM \"$p\" 2>/dev/null\n"
			   "i=0\n"
			   "while kill -0 -\"$p\" 2>/dev/null && [ $i -lt 20 ]; do sleep 0.1 2>/dev/null || sleep 1; "
			   "i=$((i + 1)); done\n"
			   "kill -KILL -\"$p\" 2>/dev/null\n"
			   "rm -f \"$f\"\n"
			   "exit 0\n");
	if (!sbuf_ok(&script)) {
		sbuf_release(&script);
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	}
	rc = ssh_helper(s, SSH_MUX, script.buf, SSH_HELPER_TIMEOUT, NULL, "kill a timed-out command", err);
	sbuf_release(&script);
	return rc;
}

/* ssh exited 255: the command's own status, or the connection failed (ALTS_EENV). */
static int ssh_check_255(struct ssh *s, const char *rc_file, struct alts_err *err)
{
	struct sbuf script = SBUF_INIT, out = SBUF_INIT;
	int rc;

	sbuf_adds(&script, "cat ");
	ssh__quote(&script, rc_file);
	sbuf_adds(&script, " 2>/dev/null || echo none");
	rc = sbuf_ok(&script) ? ssh_helper(s, SSH_MUX, script.buf, SSH_HELPER_TIMEOUT, &out,
					    "read a command's exit status", err)
			      : alts_err_set(err, ALTS_ENOMEM, "out of memory");
	if (!rc) {
		sbuf_trim_trailing(&out);
		if (strcmp(out.buf, "255"))
			rc = alts_err_set(err, ALTS_EENV, "lost the ssh connection to '%s' while a command ran",
					  s->conf->host);
	}
	if (rc)
		alts_err_prefix(err, "ssh exited with status 255");
	sbuf_release(&script);
	sbuf_release(&out);
	return rc;
}

static int ssh_reboot(struct runner *r, struct ssh *s, struct alts_err *err);

static int ssh_exec(struct runner *r, struct proc_result *out, const struct runner_exec_req *req,
		    struct alts_err *err)
{
	struct ssh *s = r->priv;
	struct ssh_exec_out o = { { { 0 }, 0, false }, req->on_output, req->payload };
	struct sbuf script = SBUF_INIT;
	struct ssh_call call = { 0 };
	char pid_file[PATH_MAX + 32], rc_file[PATH_MAX + 32];
	char **env = NULL;
	int rc = runner_env_build(&env, r, req, err);

	if (rc)
		return rc;
	s->nexec++;
	snprintf(pid_file, sizeof(pid_file), "%s/run/pid-%lu", s->base, s->nexec);
	snprintf(rc_file, sizeof(rc_file), "%s/run/rc-%lu", s->base, s->nexec);
	ssh__exec_script(&script, pid_file, rc_file, req->cwd ? req->cwd : r->workdir, (const char *const *)env,
			 req->argv);
	runner_env_free(env);
	if (!sbuf_ok(&script)) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	call.remote = script.buf;
	call.stdin_path = req->stdin_path;
	call.stdout_path = req->stdout_path;
	call.stderr_path = req->stderr_path;
	call.stdout_capture = req->stdout_capture;
	call.stderr_capture = req->stderr_capture;
	call.append = req->append;
	call.timeout = req->timeout;
	call.cancel = req->cancel;
	call.on_output = ssh_on_output;
	call.payload = &o;
	rc = ssh_run(out, s, SSH_MUX, &call, err);
	if (rc)
		goto out;
	if (out->timed_out || out->canceled) {
		rc = ssh_kill_group(s, pid_file, err);
		goto out;
	}
	if (out->exit_code == 255) {
		rc = ssh_check_255(s, rc_file, err);
		if (rc)
			goto out;
	}
	if (o.scan.found)
		rc = ssh_reboot(r, s, err);
out:
	sbuf_release(&script);
	return rc;
}

/* --- reboot --- */

static void ssh_sleep(double seconds)
{
	struct timespec ts = { (time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * Reboots the host for a check that printed the marker and waits for it:
 * done when ssh answers after having failed at least once, or with a new
 * boot id.
 */
static int ssh_reboot(struct runner *r, struct ssh *s, struct alts_err *err)
{
	static const char *const default_cmd[] = { "reboot", NULL };
	const struct ssh_conf *c = s->conf;
	const char *const *cmd = c->reboot_command.argc ? c->reboot_command.argv : default_cmd;
	double wait = c->reboot_timeout > 0 ? c->reboot_timeout : SSH_DEFAULT_REBOOT_TIMEOUT;
	double deadline, t0 = proc_now();
	struct sbuf script = SBUF_INIT, out = SBUF_INIT;
	struct alts_err probe_err = ALTS_ERR_INIT;
	bool saw_down = false;
	int rc = 0;

	alts_log(ALTS_LOG_INFO, r->log, "%s in the output: rebooting %s", SSH_REBOOT_MARKER, c->host);
	ssh__quote_argv(&script, cmd);
	if (!sbuf_ok(&script)) {
		sbuf_release(&script);
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	}
	/* The connection may drop before ssh reports anything: the outcome is what the probes see. */
	ssh_helper(s, SSH_MUX, script.buf, 60, NULL, "reboot", &probe_err);
	ssh_stop_master(s);
	deadline = proc_now() + wait;
	for (;;) {
		sbuf_reset(&out);
		alts_err_clear(&probe_err);
		if (!ssh_helper(s, SSH_DIRECT, "cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown",
				SSH_HELPER_TIMEOUT, &out, "probe", &probe_err)) {
			sbuf_trim_trailing(&out);
			if (saw_down || (strcmp(out.buf, "unknown") && strcmp(out.buf, s->boot_id)))
				break;
		} else {
			saw_down = true;
		}
		if (proc_now() >= deadline) {
			rc = alts_err_set(err, ALTS_EENV, "host '%s' did not come back within %.0f s after a reboot%s%s",
					  c->host, wait, saw_down ? ": " : " (it never went down)",
					  saw_down ? probe_err.msg : "");
			goto out;
		}
		ssh_sleep(0.5);
	}
	alts_free(s->boot_id);
	s->boot_id = alts_strdup(out.buf);
	if (!s->boot_id) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	alts_log(ALTS_LOG_INFO, r->log, "%s is back after %.1f s", c->host, proc_now() - t0);
out:
	sbuf_release(&script);
	sbuf_release(&out);
	return rc;
}

/* --- copies --- */

/* Runs a copy script over the master connection with stdin or stdout on a local tar file. */
static int ssh_copy_run(struct ssh *s, const char *script, const char *stdin_path, const char *stdout_path,
			int *exit_code, struct sbuf *why, struct alts_err *err)
{
	struct ssh_call call = { 0 };
	struct proc_result res;
	int rc;

	call.remote = script;
	call.stdin_path = stdin_path;
	call.stdout_path = stdout_path;
	call.timeout = SSH_COPY_TIMEOUT;
	rc = ssh_run_capture(&res, s, SSH_MUX, &call, why, err);
	*exit_code = rc ? -1 : res.exit_code;
	return rc;
}

static int ssh_copy_in(struct runner *r, const char *host_path, const char *env_path, struct alts_err *err)
{
	struct ssh *s = r->priv;
	char tar[PATH_MAX + 32], dir[PATH_MAX], base[PATH_MAX];
	struct sbuf script = SBUF_INIT, why = SBUF_INIT;
	int rc = runner_tar_split(dir, sizeof(dir), base, sizeof(base), host_path, err), status;

	if (rc)
		return rc;
	ssh_local_file(s, tar, sizeof(tar), "in.tar");
	rc = runner_tar_pack(tar, host_path, err);
	if (rc)
		goto out;
	/* cp semantics: into an existing directory, else as env_path (made beside it, then renamed). */
	sbuf_adds(&script, "d=");
	ssh__quote(&script, env_path);
	sbuf_adds(&script, "\nn=");
	ssh__quote(&script, base);
	sbuf_adds(&script, "\nif [ -d \"$d\" ]; then exec tar -xpf - -C \"$d\"; fi\n"
			   "t=$(mktemp -d \"$(dirname \"$d\")/.alts-copy.XXXXXX\") || exit 1\n"
			   "tar -xpf - -C \"$t\" && mv -f \"$t/$n\" \"$d\"\n"
			   "s=$?\n"
			   "rm -rf \"$t\"\n"
			   "exit $s\n");
	if (!sbuf_ok(&script)) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	rc = ssh_copy_run(s, script.buf, tar, NULL, &status, &why, err);
	if (!rc && status)
		rc = alts_err_set(err, ALTS_EENV, "cannot copy '%s' to '%s:%s': %s", host_path, s->conf->host,
				  env_path, why.len ? why.buf : "ssh or tar failed");
out:
	unlink(tar);
	sbuf_release(&script);
	sbuf_release(&why);
	return rc;
}

static int ssh_copy_out(struct runner *r, const char *env_path, const char *host_path, struct alts_err *err)
{
	struct ssh *s = r->priv;
	char tar[PATH_MAX + 32], dir[PATH_MAX], base[PATH_MAX], member[PATH_MAX + 2];
	struct sbuf script = SBUF_INIT, why = SBUF_INIT;
	int rc = runner_tar_split(dir, sizeof(dir), base, sizeof(base), env_path, err), status;

	if (rc)
		return rc;
	ssh_local_file(s, tar, sizeof(tar), "out.tar");
	snprintf(member, sizeof(member), "./%s", base);
	sbuf_adds(&script, "cd ");
	ssh__quote(&script, dir);
	sbuf_adds(&script, " && exec tar -cf - ");
	ssh__quote(&script, member);
	if (!sbuf_ok(&script)) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	rc = ssh_copy_run(s, script.buf, NULL, tar, &status, &why, err);
	if (!rc && status)
		rc = alts_err_set(err, status == 255 ? ALTS_EENV : ALTS_ENOTFOUND, "cannot copy '%s:%s': %s",
				  s->conf->host, env_path, why.len ? why.buf : "ssh or tar failed");
	if (!rc)
		rc = runner_tar_unpack(tar, base, host_path, err);
out:
	unlink(tar);
	sbuf_release(&script);
	sbuf_release(&why);
	return rc;
}

/* --- teardown --- */

static int ssh_teardown(struct runner *r, bool keep, struct alts_err *err)
{
	struct ssh *s = r->priv;
	int rc = 0;

	if (keep || r->keep_env)
		fprintf(stderr, "alts: kept the work directory %s on %s (remove it with: ssh %s rm -rf %s)\n", r->workdir,
			s->conf->host, s->conf->host, s->base);
	else if (s->base)
		rc = ssh_remove_remote(s, err);
	ssh_stop_master(s);
	return rc;
}

static void ssh_destroy(struct runner *r)
{
	struct ssh *s = r->priv;

	if (!s)
		return;
	if (s->conf)
		ssh_stop_master(s);
	if (s->local[0])
		runner_remove_tree(s->local);
	alts_free(s->base);
	alts_free(s->boot_id);
}

/* --- settings: environment.ssh --- */

/* A host name or address for ssh: never an option ("-..."), no spaces, no user@. */
static int ssh_validate_host(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *host = *(const char **)field;
	char cbuf[16];

	if (host[0] == '-')
		return conf_fail(ctx, node, path, "host '%s' must not start with '-'", host);
	for (const char *p = host; *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr(".-_:[]", *p))
			return conf_fail(ctx, node, path,
					 "host '%s' contains %s (allowed: letters, digits and . - _ : [ ]); "
					 "give the user in 'user'",
					 host, conf_describe_char(*p, cbuf, sizeof(cbuf)));
	}
	return 0;
}

static int ssh_validate_user(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *user = *(const char **)field;
	char cbuf[16];

	if (user[0] == '-')
		return conf_fail(ctx, node, path, "user '%s' must not start with '-'", user);
	for (const char *p = user; *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			return conf_fail(ctx, node, path, "user '%s' contains %s (allowed: letters, digits and . _ -)",
					 user, conf_describe_char(*p, cbuf, sizeof(cbuf)));
	}
	return 0;
}

static int ssh_validate_port(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	long port = *(long *)field;

	if (port < 1 || port > 65535)
		return conf_fail(ctx, node, path, "port %ld is out of range (1-65535)", port);
	return 0;
}

/* ssh expands '%' and '${' in these paths and splits UserKnownHostsFile on spaces: refuse what it would change. */
static int ssh_validate_path(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *file = *(const char **)field;
	const char *bad = strpbrk(file, "%$\"'\t\n ");

	if (bad)
		return conf_fail(ctx, node, path,
				 "path '%s' contains '%c', which ssh would expand or split; use a path without "
				 "%%, $, quotes or spaces",
				 file, *bad == '\t' || *bad == '\n' ? ' ' : *bad);
	return 0;
}

static int ssh_validate_identity(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *file = *(const char **)field;
	const char *bad = strpbrk(file, "%$");

	if (bad)
		return conf_fail(ctx, node, path, "path '%s' contains '%c', which ssh would expand", file, *bad);
	return 0;
}

static int ssh_validate_host_key_checking(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	static const char *const modes[] = { "yes", "accept-new", "no", NULL };
	const char *mode = *(const char **)field;

	return conf_check_one_of(ctx, node, path, "host key checking mode", mode, modes);
}

static const struct conf_key ssh_conf_keys[] = {
	{ "host", CONF_STRING, offsetof(struct ssh_conf, host), CONF_NONEMPTY, NULL, ssh_validate_host },
	{ "port", CONF_INT, offsetof(struct ssh_conf, port), 0, NULL, ssh_validate_port },
	{ "user", CONF_STRING, offsetof(struct ssh_conf, user), CONF_NONEMPTY, NULL, ssh_validate_user },
	{ "identity_file", CONF_STRING, offsetof(struct ssh_conf, identity_file), CONF_NONEMPTY, NULL,
	  ssh_validate_identity },
	{ "known_hosts", CONF_STRING, offsetof(struct ssh_conf, known_hosts), CONF_NONEMPTY, NULL,
	  ssh_validate_path },
	{ "strict_host_key_checking", CONF_STRING, offsetof(struct ssh_conf, strict_host_key_checking),
	  CONF_NONEMPTY, NULL, ssh_validate_host_key_checking },
	{ "connect_timeout", CONF_DURATION, offsetof(struct ssh_conf, connect_timeout), 0, NULL, NULL },
	{ "reboot_command", CONF_ARGV, offsetof(struct ssh_conf, reboot_command), 0, NULL, NULL },
	{ "reboot_timeout", CONF_DURATION, offsetof(struct ssh_conf, reboot_timeout), 0, NULL, NULL },
	CONF_KEYS_END,
};
/* What the ssh runner cannot start without, when the suite chooses it. */
static int ssh_validate(struct conf_ctx *ctx, yaml_node_t *node, const char *path, const struct suite *suite,
			const void *conf)
{
	const struct ssh_conf *c = conf;

	ALTS_UNUSED(suite);
	if (!c->host)
		return conf_fail(ctx, node, path, "the ssh runner needs 'ssh: {host: ...}'");
	return 0;
}

const struct runner_ops runner_ssh_ops = {
	.name = "ssh",
	.abi = RUNNER_ABI,
	.caps = 0,
	.priv_size = sizeof(struct ssh),
	.conf_size = sizeof(struct ssh_conf),
	.keys = ssh_conf_keys,
	.validate = ssh_validate,
	.prepare = ssh_prepare,
	.exec = ssh_exec,
	.copy_in = ssh_copy_in,
	.copy_out = ssh_copy_out,
	.teardown = ssh_teardown,
	.destroy = ssh_destroy,
};
