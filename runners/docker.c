/*
 * The docker runner: a container per suite through the Docker Engine API
 * (Docker, or podman's compatible service), spoken with libcurl over the
 * unix socket or tcp (https with DOCKER_CERT_PATH's ca.pem, cert.pem and
 * key.pem). No docker CLI.
 *
 * - Image: environment.docker.image (one name, or a mapping from
 *   "<dist_name>-<dist_version>" to a name), else a built-in map
 *   (almalinux-9 -> almalinux:9, ...), else "<dist_name>:<dist_version>".
 *   Pulled when missing, for the platform from docker.platform or
 *   dist_arch (amd64, arm64/v8, 386, ppc64le, s390x, amd64/v2).
 * - Every container is labelled alts.managed=1 and alts.owner=HOST:PID:START;
 *   a new runner removes labelled containers whose owner process on this
 *   host is gone (leftovers of a killed alts-run).
 * - A command runs as an exec: /usr/bin/env -i with exactly the built
 *   environment plus ALTS_EXEC_ID, then a fixed /bin/sh script that
 *   changes directory and redirects stdin (copied in beforehand), with
 *   every value passed as an argument. The multiplexed output stream is
 *   split into the capture files; the exit code comes from exec inspect.
 * - Timeouts: the API cannot signal an exec, so a second exec sends TERM,
 *   then KILL, to every process whose environment holds the command's
 *   ALTS_EXEC_ID: its children too, whatever their process group.
 * - Copies: tar archives (PUT/GET /containers/ID/archive) made and read
 *   by the host's tar (runners/runner_tar.h).
 */
#include "framework/common.h"
#include "runners/docker.h"
#include "runners/curl_lib.h"
#include "runners/runner_tar.h"
#include "runners/runner_util.h"
#include "framework/log.h"
#include "framework/sbuf.h"
#include "framework/suite.h"

#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define DOCKER_API "/v1.41"
#define DOCKER_DEFAULT_SOCKET "/var/run/docker.sock"
#define DOCKER_JSON_MAX (4u << 20)
#define DOCKER_HTTP_TIMEOUT 300L
#define DOCKER_PULL_TIMEOUT 3600L
#define DOCKER_WORKDIR "/alts-work"
#define DOCKER_RUNDIR "/alts-run"
#define DOCKER_GRACE 2

struct docker {
	const struct curl_lib *cl; /* libcurl, loaded by docker_prepare */
	CURL *curl;
	char *sock;             /* unix socket, or NULL for tcp */
	char *base;             /* scheme://host[:port] + DOCKER_API */
	char *cert_dir;         /* https: DOCKER_CERT_PATH */
	char *id;               /* the container */
	char name[64];
	char owner[128];        /* HOST:PID:START */
	char local[PATH_MAX];   /* this host: archives and scratch */
	const char *image;
	const char *platform;
	unsigned long nexec, nfile;
};

/* --- HTTP --- */

struct docker_req {
	const char *method;
	const char *path;          /* after DOCKER_API, query escaped */
	const char *json;          /* request body, or NULL */
	const char *upload_path;   /* PUT body from this file */
	const char *download_path; /* response body to this file (else into body) */
	curl_write_callback write_fn;  /* response body to a function */
	void *write_data;
	double deadline;           /* proc_now() time; 0: none */
	volatile const int *cancel;
	long timeout;              /* seconds for the whole request; 0: none */
	/* results */
	struct sbuf body;
	long status;
	char *path_stat;           /* X-Docker-Container-Path-Stat, alts_malloc'd */
	bool aborted;              /* deadline or cancel */
	bool canceled;
};

static size_t docker_body_cb(char *ptr, size_t size, size_t nmemb, void *payload)
{
	struct sbuf *sb = payload;

	sbuf_add(sb, ptr, size * nmemb);
	return size * nmemb;
}

static size_t docker_header_cb(char *ptr, size_t size, size_t nmemb, void *payload)
{
	static const char name[] = "x-docker-container-path-stat:";
	struct docker_req *q = payload;
	size_t len = size * nmemb;

	if (len > sizeof(name) - 1 && !strncasecmp(ptr, name, sizeof(name) - 1) && !q->path_stat) {
		const char *v = ptr + sizeof(name) - 1;
		size_t vlen = len - (sizeof(name) - 1);

		while (vlen && (*v == ' ' || *v == '\t'))
			v++, vlen--;
		while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
			vlen--;
		q->path_stat = alts_strndup(v, vlen);
	}
	return len;
}

static int docker_progress_cb(void *payload, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
			      curl_off_t ulnow)
{
	struct docker_req *q = payload;

	ALTS_UNUSED(dltotal);
	ALTS_UNUSED(dlnow);
	ALTS_UNUSED(ultotal);
	ALTS_UNUSED(ulnow);
	if (q->cancel && *q->cancel) {
		q->aborted = q->canceled = true;
		return 1;
	}
	if (q->deadline > 0 && proc_now() >= q->deadline) {
		q->aborted = true;
		return 1;
	}
	return 0;
}

/* The daemon's message in an error body ({"message": ...}), or the body itself. */
static void docker_error_text(const struct sbuf *body, char *buf, size_t size)
{
	json_t *j = json_loadb(body->buf, body->len, 0, NULL);
	json_t *m = j ? json_object_get(j, "message") : NULL;

	if (json_is_string(m))
		snprintf(buf, size, "%s", json_string_value(m));
	else
		snprintf(buf, size, "%.*s", (int)(body->len > 300 ? 300 : body->len), body->buf);
	json_decref(j);
	for (char *p = buf; *p; p++) {
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	}
}

/*
 * Performs one request. 0 when a response came (any status: see
 * q->status) or the transfer was aborted on purpose (q->aborted);
 * ALTS_EENV when the daemon could not be reached.
 */
static int docker_http(struct docker *d, struct docker_req *q, struct alts_err *err)
{
	struct curl_slist *headers = NULL;
	char url[8192];
	FILE *up = NULL, *down = NULL;
	CURLcode cc;
	int rc = 0;

	if (!str_fmt(url, sizeof(url), "%s%s", d->base, q->path))
		return alts_err_set(err, ALTS_EINVALID, "request path too long");
	sbuf_init(&q->body, DOCKER_JSON_MAX);
	d->cl->easy_reset(d->curl);
	if (d->sock)
		d->cl->easy_setopt(d->curl, CURLOPT_UNIX_SOCKET_PATH, d->sock);
	if (d->cert_dir) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/ca.pem", d->cert_dir);
		d->cl->easy_setopt(d->curl, CURLOPT_CAINFO, path);
		snprintf(path, sizeof(path), "%s/cert.pem", d->cert_dir);
		d->cl->easy_setopt(d->curl, CURLOPT_SSLCERT, path);
		snprintf(path, sizeof(path), "%s/key.pem", d->cert_dir);
		d->cl->easy_setopt(d->curl, CURLOPT_SSLKEY, path);
	}
	d->cl->easy_setopt(d->curl, CURLOPT_URL, url);
	d->cl->easy_setopt(d->curl, CURLOPT_NOSIGNAL, 1L);
	d->cl->easy_setopt(d->curl, CURLOPT_CONNECTTIMEOUT, 30L);
	if (q->timeout > 0)
		d->cl->easy_setopt(d->curl, CURLOPT_TIMEOUT, q->timeout);
	d->cl->easy_setopt(d->curl, CURLOPT_HEADERFUNCTION, docker_header_cb);
	d->cl->easy_setopt(d->curl, CURLOPT_HEADERDATA, q);
	d->cl->easy_setopt(d->curl, CURLOPT_XFERINFOFUNCTION, docker_progress_cb);
	d->cl->easy_setopt(d->curl, CURLOPT_XFERINFODATA, q);
	d->cl->easy_setopt(d->curl, CURLOPT_NOPROGRESS, 0L);
	if (!strcmp(q->method, "HEAD"))
		d->cl->easy_setopt(d->curl, CURLOPT_NOBODY, 1L);
	else if (strcmp(q->method, "GET"))
		d->cl->easy_setopt(d->curl, CURLOPT_CUSTOMREQUEST, q->method);
	if (q->json) {
		headers = d->cl->slist_append(headers, "Content-Type: application/json");
		d->cl->easy_setopt(d->curl, CURLOPT_POSTFIELDS, q->json);
	} else if (q->upload_path) {
		struct stat st;

		up = fopen(q->upload_path, "rbe");
		if (!up || fstat(fileno(up), &st) < 0) {
			rc = alts_err_errno(err, ALTS_EENV, errno, "cannot read '%s'", q->upload_path);
			goto out;
		}
		headers = d->cl->slist_append(headers, "Content-Type: application/x-tar");
		d->cl->easy_setopt(d->curl, CURLOPT_UPLOAD, 1L);
		d->cl->easy_setopt(d->curl, CURLOPT_READDATA, up);
		d->cl->easy_setopt(d->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)st.st_size);
	} else if (!strcmp(q->method, "POST")) {
		d->cl->easy_setopt(d->curl, CURLOPT_POSTFIELDS, "");
	}
	if (headers)
		d->cl->easy_setopt(d->curl, CURLOPT_HTTPHEADER, headers);
	if (q->write_fn) {
		d->cl->easy_setopt(d->curl, CURLOPT_WRITEFUNCTION, q->write_fn);
		d->cl->easy_setopt(d->curl, CURLOPT_WRITEDATA, q->write_data);
	} else if (q->download_path) {
		down = fopen(q->download_path, "wbe");
		if (!down) {
			rc = alts_err_errno(err, ALTS_EENV, errno, "cannot create '%s'", q->download_path);
			goto out;
		}
		d->cl->easy_setopt(d->curl, CURLOPT_WRITEDATA, down);
	} else {
		d->cl->easy_setopt(d->curl, CURLOPT_WRITEFUNCTION, docker_body_cb);
		d->cl->easy_setopt(d->curl, CURLOPT_WRITEDATA, &q->body);
	}
	cc = d->cl->easy_perform(d->curl);
	d->cl->easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &q->status);
	if (cc == CURLE_ABORTED_BY_CALLBACK && q->aborted)
		goto out;
	if (cc != CURLE_OK)
		rc = alts_err_set(err, ALTS_EENV, "cannot %s %s%s on the docker daemon at %s: %s", q->method, DOCKER_API,
				  q->path, d->sock ? d->sock : d->base, d->cl->easy_strerror(cc));
	if (!rc && down && fflush(down))
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot write '%s'", q->download_path);
	if (!rc && !sbuf_ok(&q->body))
		rc = alts_err_set(err, ALTS_EENV, "the docker daemon's answer to %s is too large", q->path);
out:
	if (up)
		fclose(up);
	if (down)
		fclose(down);
	d->cl->slist_free_all(headers);
	return rc;
}

static void docker_req_release(struct docker_req *q)
{
	sbuf_release(&q->body);
	alts_free(q->path_stat);
	q->path_stat = NULL;
}

/* A request whose status must be one of ok1/ok2; else ALTS_EENV (ALTS_ENOTFOUND for 404) with the daemon's message. */
static int docker_call(struct docker *d, struct docker_req *q, long ok1, long ok2, const char *what,
		       struct alts_err *err)
{
	char msg[512];
	int rc = docker_http(d, q, err);

	if (rc || q->aborted || q->status == ok1 || q->status == ok2)
		return rc;
	docker_error_text(&q->body, msg, sizeof(msg));
	return alts_err_set(err, q->status == 404 ? ALTS_ENOTFOUND : ALTS_EENV, "cannot %s: the docker daemon said %ld: %s",
			    what, q->status, msg);
}

/* --- names --- */

static char *docker_escape(struct docker *d, const char *s)
{
	char *e = d->cl->easy_escape(d->curl, s, 0);
	char *copy = e ? alts_strdup(e) : NULL;

	d->cl->free(e);
	return copy;
}

static const struct {
	const char *dist, *image;
} docker_default_images[] = {
	{ "almalinux-8", "almalinux:8" }, { "almalinux-9", "almalinux:9" }, { "almalinux-10", "almalinux:10" },
	{ "centos-7", "centos:7" }, { "rocky-8", "rockylinux:8" }, { "rocky-9", "rockylinux:9" },
	{ "ol-8", "oraclelinux:8" }, { "ol-9", "oraclelinux:9" }, { "debian-11", "debian:11" },
	{ "debian-12", "debian:12" }, { "debian-13", "debian:13" }, { "ubuntu-20.04", "ubuntu:20.04" },
	{ "ubuntu-22.04", "ubuntu:22.04" }, { "ubuntu-24.04", "ubuntu:24.04" },
};

static const struct {
	const char *arch, *platform;
} docker_platforms[] = {
	{ "x86_64", "linux/amd64" }, { "amd64", "linux/amd64" }, { "x86_64_v2", "linux/amd64/v2" },
	{ "aarch64", "linux/arm64/v8" }, { "arm64", "linux/arm64/v8" }, { "i386", "linux/386" },
	{ "i486", "linux/386" }, { "i586", "linux/386" }, { "i686", "linux/386" },
	{ "ppc64le", "linux/ppc64le" }, { "s390x", "linux/s390x" },
};

/* Image references go into request paths: letters, digits and . _ - / : @ only. */
static bool docker_image_ok(const char *image)
{
	if (!*image || !isalnum((unsigned char)*image))
		return false;
	for (const char *p = image; *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr("._-/:@", *p))
			return false;
	}
	return true;
}

static int docker_image_check(const char *image, struct alts_err *err)
{
	return docker_image_ok(image) ? 0 : alts_err_set(err, ALTS_EINVALID, "invalid image reference '%s'", image);
}

static int docker_pick(struct runner *r, struct docker *d, struct alts_err *err)
{
	const struct suite_environment *env = &r->suite->env;
	const struct docker_conf *conf = r->conf;
	char key[160];

	d->platform = conf->platform;
	for (size_t i = 0; !d->platform && env->dist_arch && i < ALTS_ARRAY_SIZE(docker_platforms); i++) {
		if (!strcmp(env->dist_arch, docker_platforms[i].arch))
			d->platform = docker_platforms[i].platform;
	}
	if (conf->image) {
		d->image = conf->image;
		return docker_image_check(d->image, err);
	}
	if (!env->dist_name)
		return alts_err_set(err, ALTS_EINVALID,
				    "the docker runner needs environment.docker.image, or dist_name and dist_version");
	snprintf(key, sizeof(key), "%s-%s", env->dist_name, env->dist_version ? env->dist_version : "");
	for (size_t i = 0; i < conf->images.n; i++) {
		if (!strcmp(conf->images.keys[i], key) || !strcmp(conf->images.keys[i], env->dist_name)) {
			d->image = conf->images.values[i];
			return 0;
		}
	}
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(docker_default_images); i++) {
		if (!strcmp(docker_default_images[i].dist, key)) {
			d->image = docker_default_images[i].image;
			return 0;
		}
	}
	if (!env->dist_version)
		return alts_err_set(err, ALTS_EINVALID, "no docker image for '%s': give dist_version or docker.image",
				    env->dist_name);
	d->image = arena_printf(r->suite->arena, "%s:%s", env->dist_name, env->dist_version);
	return d->image ? docker_image_check(d->image, err) : alts_err_set(err, ALTS_ENOMEM, "out of memory");
}

/* "HOST:PID:START" for a process: START (from /proc/PID/stat) tells a reused pid apart. */
static bool docker_owner_of(char *buf, size_t size, long pid)
{
	char path[64], host[64] = "";
	struct sbuf stat = SBUF_INIT;
	const char *p;
	unsigned long long start = 0;
	bool ok;

	gethostname(host, sizeof(host) - 1);
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	ok = !sbuf_read_file(&stat, path, 4096) && (p = strrchr(stat.buf, ')'));
	if (ok) {
		/* Field 22 is the start time; p points at the end of field 2. */
		for (int field = 2; ok && field < 21; field++) {
			p = strchr(p + 1, ' ');
			ok = p != NULL;
		}
		ok = ok && sscanf(p + 1, "%llu", &start) == 1;
	}
	sbuf_release(&stat);
	if (ok)
		snprintf(buf, size, "%s:%ld:%llu", host, pid, start);
	return ok;
}

/* A labelled container is a leftover when its owner on this host is gone. */
static bool docker_is_leftover(const char *owner)
{
	char host[64] = "", now[128];
	const char *colon = strchr(owner, ':');
	long pid;

	gethostname(host, sizeof(host) - 1);
	if (!colon || (size_t)(colon - owner) != strlen(host) || strncmp(owner, host, strlen(host)))
		return false;  /* another machine's: not ours to judge */
	pid = strtol(colon + 1, NULL, 10);
	if (pid <= 0)
		return false;
	return !docker_owner_of(now, sizeof(now), pid) || strcmp(now, owner);
}

static int docker_remove(struct docker *d, const char *id, struct alts_err *err)
{
	struct docker_req q = { .method = "DELETE", .timeout = DOCKER_HTTP_TIMEOUT };
	char path[512];
	int rc;

	snprintf(path, sizeof(path), "/containers/%s?force=1&v=1", id);
	q.path = path;
	rc = docker_call(d, &q, 204, 200, "remove the container", err);
	if (rc == ALTS_ENOTFOUND)
		rc = 0;
	docker_req_release(&q);
	return rc;
}

static int docker_sweep(struct runner *r, struct docker *d, struct alts_err *err)
{
	struct docker_req q = { .method = "GET", .timeout = DOCKER_HTTP_TIMEOUT };
	char path[256];
	char *filter = docker_escape(d, "{\"label\":[\"alts.managed=1\"]}");
	json_t *list = NULL, *c;
	size_t i;
	int rc;

	if (!filter)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	snprintf(path, sizeof(path), "/containers/json?all=1&filters=%s", filter);
	alts_free(filter);
	q.path = path;
	rc = docker_call(d, &q, 200, 200, "list containers", err);
	if (!rc && !(list = json_loadb(q.body.buf, q.body.len, 0, NULL)))
		rc = alts_err_set(err, ALTS_EENV, "the docker daemon's container list is not JSON");
	json_array_foreach(list, i, c) {
		json_t *owner = json_object_get(json_object_get(c, "Labels"), "alts.owner");
		const char *id = json_string_value(json_object_get(c, "Id"));
		struct alts_err ignored = ALTS_ERR_INIT;

		if (id && json_is_string(owner) && docker_is_leftover(json_string_value(owner))) {
			alts_log(ALTS_LOG_INFO, r->log, "removing leftover container %.12s (owner %s is gone)", id,
				 json_string_value(owner));
			if (docker_remove(d, id, &ignored))
				alts_log(ALTS_LOG_WARN, r->log, "%s", ignored.msg);
		}
	}
	json_decref(list);
	docker_req_release(&q);
	return rc;
}

static int docker_pull(struct runner *r, struct docker *d, struct alts_err *err)
{
	struct docker_req q = { .method = "GET", .timeout = DOCKER_HTTP_TIMEOUT };
	char path[1024];
	char *name = docker_escape(d, d->image), *plat = d->platform ? docker_escape(d, d->platform) : NULL;
	const char *p;
	int rc;

	if (!name || (d->platform && !plat)) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	snprintf(path, sizeof(path), "/images/%s/json", d->image);
	q.path = path;
	rc = docker_http(d, &q, err);
	if (rc || q.status == 200)
		goto out;
	docker_req_release(&q);
	alts_log(ALTS_LOG_INFO, r->log, "pulling %s%s%s", d->image, plat ? " for " : "", plat ? d->platform : "");
	memset(&q, 0, sizeof(q));
	q.method = "POST";
	q.timeout = DOCKER_PULL_TIMEOUT;
	snprintf(path, sizeof(path), "/images/create?fromImage=%s%s%s", name, plat ? "&platform=" : "", plat ? plat : "");
	q.path = path;
	rc = docker_call(d, &q, 200, 200, "pull the image", err);
	/* Progress is a stream of JSON objects; a failure is one with "error", under status 200. */
	if (!rc && (p = strstr(q.body.buf, "\"error\""))) {
		const char *start = p;

		while (start > q.body.buf && start[-1] != '\n')
			start--;
		rc = alts_err_set(err, ALTS_EENV, "cannot pull '%s': %.300s", d->image, start);
	}
out:
	if (rc)
		alts_err_prefix(err, "image '%s'", d->image);
	alts_free(name);
	alts_free(plat);
	docker_req_release(&q);
	return rc;
}

/* Resource limits a daemon without CAP_SYS_RESOURCE can still set (podman's defaults exceed them). */
static void docker_ulimits(json_t *host_config)
{
	struct rlimit files = { 1024, 1048576 }, procs = { 32768, 32768 };
	json_t *ul = json_array();
	struct rlimit mine;

	if (!getrlimit(RLIMIT_NOFILE, &mine) && mine.rlim_max != RLIM_INFINITY && mine.rlim_max < files.rlim_max)
		files.rlim_max = mine.rlim_max;
	if (files.rlim_cur > files.rlim_max)
		files.rlim_cur = files.rlim_max;
	if (!getrlimit(RLIMIT_NPROC, &mine) && mine.rlim_max != RLIM_INFINITY && mine.rlim_max < procs.rlim_max)
		procs.rlim_cur = procs.rlim_max = mine.rlim_max;
	json_array_append_new(ul, json_pack("{s:s, s:I, s:I}", "Name", "nofile", "Soft", (json_int_t)files.rlim_cur,
					    "Hard", (json_int_t)files.rlim_max));
	json_array_append_new(ul, json_pack("{s:s, s:I, s:I}", "Name", "nproc", "Soft", (json_int_t)procs.rlim_cur,
					    "Hard", (json_int_t)procs.rlim_max));
	json_object_set_new(host_config, "Ulimits", ul);
}

static int docker_create(struct runner *r, struct docker *d, struct alts_err *err)
{
	struct docker_req q = { .method = "POST", .timeout = DOCKER_HTTP_TIMEOUT };
	const char *network = r->suite->env.network;
	char path[512];
	char *plat = d->platform ? docker_escape(d, d->platform) : NULL, *body = NULL;
	json_t *req = NULL, *resp = NULL, *hc, *id = NULL;
	int rc;

	if (network && !strcmp(network, "private")) {
		alts_free(plat);
		return alts_err_set(err, ALTS_EINVALID, "network 'private' is a sandbox runner mode; the docker runner "
				    "takes 'none' or 'host'");
	}
	hc = json_object();
	docker_ulimits(hc);
	if (network)
		json_object_set_new(hc, "NetworkMode", json_string(network));
	req = json_pack("{s:s, s:[s,s,s], s:{s:s, s:s, s:s}, s:s, s:b, s:o}", "Image", d->image, "Cmd", "/bin/sh", "-c",
			"trap 'exit 0' TERM; while :; do sleep 1000 & wait $!; done", "Labels", "alts.managed", "1",
			"alts.owner", d->owner, "alts.suite", r->suite->name ? r->suite->name : "", "WorkingDir", "/",
			"Tty", 0, "HostConfig", hc);
	body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	if (!body || (d->platform && !plat)) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	snprintf(path, sizeof(path), "/containers/create?name=%s%s%s", d->name, plat ? "&platform=" : "", plat ? plat : "");
	q.path = path;
	q.json = body;
	rc = docker_call(d, &q, 201, 200, "create a container", err);
	if (!rc && (!(resp = json_loadb(q.body.buf, q.body.len, 0, NULL)) ||
		    !json_is_string(id = json_object_get(resp, "Id"))))
		rc = alts_err_set(err, ALTS_EENV, "the docker daemon's answer to create has no Id");
	if (!rc && !(d->id = alts_strdup(json_string_value(id))))
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
	docker_req_release(&q);
	if (rc)
		goto out;
	memset(&q, 0, sizeof(q));
	q.method = "POST";
	q.timeout = DOCKER_HTTP_TIMEOUT;
	snprintf(path, sizeof(path), "/containers/%s/start", d->id);
	q.path = path;
	rc = docker_call(d, &q, 204, 304, "start the container", err);
out:
	docker_req_release(&q);
	json_decref(req);
	json_decref(resp);
	free(body);
	alts_free(plat);
	return rc;
}

/* --- exec --- */

/* Splits the multiplexed stream (8-byte headers: stream, 0, 0, 0, big-endian size) into its sinks. */
struct docker_demux {
	unsigned char hdr[8];
	size_t hdr_len;
	size_t left;              /* payload bytes left in the current frame */
	int stream;               /* 1 stdout, 2 stderr */
	FILE *out, *err;
	struct sbuf *out_buf;     /* internal commands: stdout kept here */
	proc_output_fn on_output;
	void *payload;
};

static size_t docker_demux_cb(char *ptr, size_t size, size_t nmemb, void *payload)
{
	struct docker_demux *m = payload;
	size_t len = size * nmemb, i = 0;

	while (i < len) {
		if (m->hdr_len < 8) {
			size_t take = 8 - m->hdr_len < len - i ? 8 - m->hdr_len : len - i;

			memcpy(m->hdr + m->hdr_len, ptr + i, take);
			m->hdr_len += take;
			i += take;
			if (m->hdr_len == 8) {
				m->stream = m->hdr[0];
				m->left = (size_t)m->hdr[4] << 24 | (size_t)m->hdr[5] << 16 | (size_t)m->hdr[6] << 8 | m->hdr[7];
				if (!m->left)
					m->hdr_len = 0;
			}
			continue;
		}
		{
			size_t take = m->left < len - i ? m->left : len - i;
			FILE *f = m->stream == 2 ? m->err : m->out;

			if (f)
				fwrite(ptr + i, 1, take, f);
			if (m->stream != 2 && m->out_buf)
				sbuf_add(m->out_buf, ptr + i, take);
			if (m->on_output)
				m->on_output(m->payload, m->stream == 2 ? PROC_STDERR : PROC_STDOUT, ptr + i, take);
			m->left -= take;
			i += take;
			if (!m->left)
				m->hdr_len = 0;
		}
	}
	return len;
}

struct docker_exec_opts {
	struct docker_demux demux;
	double deadline;
	volatile const int *cancel;
	const char *marker;       /* ALTS_EXEC_ID=..., for the timeout kill */
};

static int docker_exec_inspect(struct docker *d, const char *exec_id, json_int_t *code, bool *running,
			       struct alts_err *err)
{
	struct docker_req q = { .method = "GET", .timeout = DOCKER_HTTP_TIMEOUT };
	char path[256];
	json_t *j = NULL;
	int rc;

	snprintf(path, sizeof(path), "/exec/%s/json", exec_id);
	q.path = path;
	rc = docker_call(d, &q, 200, 200, "inspect an exec", err);
	if (!rc && !(j = json_loadb(q.body.buf, q.body.len, 0, NULL)))
		rc = alts_err_set(err, ALTS_EENV, "the docker daemon's exec inspect is not JSON");
	if (!rc) {
		*code = json_integer_value(json_object_get(j, "ExitCode"));
		*running = json_is_true(json_object_get(j, "Running"));
	}
	json_decref(j);
	docker_req_release(&q);
	return rc;
}

static int docker_run_argv(struct docker *d, struct proc_result *res, const char *const *argv,
			   struct docker_exec_opts *o, struct alts_err *err);

/* TERM, then KILL, to every process of the container whose environment holds the marker. */
static int docker_kill_marked(struct docker *d, const char *marker, struct alts_err *err)
{
	static const char script[] =
		"m=$1\n"
		"scan() {\n"
		"  found=\n"
		"  for p in /proc/[0-9]*; do\n"
		"    [ \"${p#/proc/}\" = \"$$\" ] && continue\n"
		"    if tr '\\000' '\\n' <\"$p/environ\" 2>/dev/null | grep -qxF \"$m\"; then\n"
		"      kill -$1 \"${p#/proc/}\" 2>/dev/null && found=1\n"
		"    fi\n"
		"  done\n"
		"}\n"
		"scan TERM\n"
		"i=0\n"
		"while [ -n \"$found\" ] && [ $i -lt 10 ]; do sleep 0.2; scan 0; i=$((i + 1)); done\n"
		"[ -z \"$found\" ] || scan KILL\n"
		"exit 0\n";
	const char *argv[] = { "/bin/sh", "-c", script, "sh", marker, NULL };
	struct docker_exec_opts o = { { { 0 } } };
	struct proc_result res;

	o.deadline = proc_now() + 60;
	return docker_run_argv(d, &res, argv, &o, err);
}

/* Runs argv as an exec in the container, as given (no wrapper). */
static int docker_run_argv(struct docker *d, struct proc_result *res, const char *const *argv,
			   struct docker_exec_opts *o, struct alts_err *err)
{
	struct docker_req q = { .method = "POST", .timeout = DOCKER_HTTP_TIMEOUT };
	char path[512], exec_id[128];
	json_t *cmd = json_array(), *req = NULL, *resp = NULL, *id = NULL;
	char *body = NULL;
	double t0 = proc_now();
	json_int_t code = -1;
	bool running = true;
	int rc;

	memset(res, 0, sizeof(*res));
	for (const char *const *a = argv; *a; a++)
		json_array_append_new(cmd, json_string(*a));
	req = json_pack("{s:b, s:b, s:b, s:o}", "AttachStdin", 0, "AttachStdout", 1, "AttachStderr", 1, "Cmd", cmd);
	body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	if (!body) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory (or a string that is not UTF-8 in the command)");
		goto out;
	}
	snprintf(path, sizeof(path), "/containers/%s/exec", d->id);
	q.path = path;
	q.json = body;
	rc = docker_call(d, &q, 201, 200, "create an exec", err);
	if (!rc && (!(resp = json_loadb(q.body.buf, q.body.len, 0, NULL)) ||
		    !json_is_string(id = json_object_get(resp, "Id")) ||
		    !str_fmt(exec_id, sizeof(exec_id), "%s", json_string_value(id))))
		rc = alts_err_set(err, ALTS_EENV, "the docker daemon's answer to exec has no Id");
	docker_req_release(&q);
	if (rc)
		goto out;
	memset(&q, 0, sizeof(q));
	q.method = "POST";
	snprintf(path, sizeof(path), "/exec/%s/start", exec_id);
	q.path = path;
	q.json = "{\"Detach\":false,\"Tty\":false}";
	q.write_fn = docker_demux_cb;
	q.write_data = &o->demux;
	q.deadline = o->deadline;
	q.cancel = o->cancel;
	rc = docker_call(d, &q, 200, 101, "start an exec", err);
	if (rc)
		goto out;
	if (q.aborted) {
		res->timed_out = !q.canceled;
		res->canceled = q.canceled;
		if (o->marker) {
			rc = docker_kill_marked(d, o->marker, err);
			if (rc)
				goto out;
		}
	}
	/* The stream ends when the process does; inspect may lag a little behind. */
	for (int i = 0; i < 100; i++) {
		rc = docker_exec_inspect(d, exec_id, &code, &running, err);
		if (rc || !running)
			break;
		usleep(50000);
	}
	if (rc)
		goto out;
	res->exit_code = running ? 128 + SIGKILL : (int)code;
	if (res->exit_code > 128 && res->exit_code < 128 + 65 && (res->timed_out || res->canceled))
		res->term_signal = res->exit_code - 128;
	res->duration = proc_now() - t0;
out:
	docker_req_release(&q);
	json_decref(req);
	json_decref(resp);
	free(body);
	return rc;
}

/* Runs a helper command; its stdout in *out; a non-zero exit is ALTS_EENV. */
static int docker_helper(struct docker *d, const char *const *argv, struct sbuf *out, const char *what,
			 struct alts_err *err)
{
	struct docker_exec_opts o = { { { 0 } } };
	struct proc_result res;
	int rc;

	o.demux.out_buf = out;
	o.deadline = proc_now() + 120;
	rc = docker_run_argv(d, &res, argv, &o, err);
	if (!rc && res.exit_code)
		rc = alts_err_set(err, ALTS_EENV, "cannot %s in the container (exit %d)", what, res.exit_code);
	return rc;
}

static int docker_put_archive(struct docker *d, const char *tar, const char *dir, struct alts_err *err)
{
	struct docker_req q = { .method = "PUT", .timeout = 3600 };
	char path[PATH_MAX * 3 + 64];
	char *e = docker_escape(d, dir);
	int rc;

	if (!e)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	snprintf(path, sizeof(path), "/containers/%s/archive?path=%s", d->id, e);
	alts_free(e);
	q.path = path;
	q.upload_path = tar;
	rc = docker_call(d, &q, 200, 204, "copy into the container", err);
	docker_req_release(&q);
	return rc;
}

static int docker_exec(struct runner *r, struct proc_result *out, const struct runner_exec_req *req,
		       struct alts_err *err)
{
	static const char wrapper[] = "cd \"$1\" || exit 127\n"
				      "if [ -n \"$2\" ]; then exec <\"$2\" || exit 127; fi\n"
				      "shift 2\n"
				      "\"$@\"\n";
	struct docker *d = r->priv;
	struct docker_exec_opts o = { { { 0 } } };
	char marker[128], stdin_env[PATH_MAX], tar[PATH_MAX + 32], staged[PATH_MAX + 32];
	char **env = NULL;
	const char **argv = NULL;
	size_t n = 0, nenv = 0, nargs = 0;
	int rc;

	d->nexec++;
	snprintf(marker, sizeof(marker), "ALTS_EXEC_ID=%s-%lu", d->name, d->nexec);
	stdin_env[0] = '\0';
	rc = runner_env_build(&env, r, req, err);
	if (rc)
		return rc;
	if (req->stdin_path) {
		/* The API's stdin needs a hijacked connection: the file goes in first, the script redirects. */
		snprintf(staged, sizeof(staged), "%s/stdin-%lu", d->local, d->nexec);
		snprintf(tar, sizeof(tar), "%s/stdin-%lu.tar", d->local, d->nexec);
		snprintf(stdin_env, sizeof(stdin_env), "%s/stdin-%lu", DOCKER_RUNDIR, d->nexec);
		rc = runner_host_copy(req->stdin_path, staged, err);
		if (!rc)
			rc = runner_tar_pack(tar, staged, err);
		if (!rc)
			rc = docker_put_archive(d, tar, DOCKER_RUNDIR, err);
		unlink(staged);
		unlink(tar);
		if (rc)
			goto out;
	}
	while (env[nenv])
		nenv++;
	while (req->argv[nargs])
		nargs++;
	argv = alts_calloc(nenv + nargs + 12, sizeof(char *));
	if (!argv) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	argv[n++] = "/usr/bin/env";
	argv[n++] = "-i";
	for (size_t i = 0; i < nenv; i++)
		argv[n++] = env[i];
	argv[n++] = marker;
	argv[n++] = "/bin/sh";
	argv[n++] = "-c";
	argv[n++] = wrapper;
	argv[n++] = "sh";
	argv[n++] = req->cwd ? req->cwd : r->workdir;
	argv[n++] = stdin_env;
	for (size_t i = 0; i < nargs; i++)
		argv[n++] = req->argv[i];
	argv[n] = NULL;
	if (req->stdout_capture && !(o.demux.out = proc_capture_stream(req->stdout_capture))) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	if (!req->stdout_capture && req->stdout_path &&
	    !(o.demux.out = fopen(req->stdout_path, req->append ? "ae" : "we"))) {
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot open output file '%s'", req->stdout_path);
		goto out;
	}
	if (req->stderr_capture) {
		if (req->stderr_capture == req->stdout_capture)
			o.demux.err = o.demux.out;
		else if (!(o.demux.err = proc_capture_stream(req->stderr_capture))) {
			rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
			goto out;
		}
	} else if (req->stderr_path) {
		if (req->stdout_path && !req->stdout_capture && !strcmp(req->stderr_path, req->stdout_path))
			o.demux.err = o.demux.out;
		else if (!(o.demux.err = fopen(req->stderr_path, req->append ? "ae" : "we"))) {
			rc = alts_err_errno(err, ALTS_EENV, errno, "cannot open output file '%s'", req->stderr_path);
			goto out;
		}
	}
	o.demux.on_output = req->on_output;
	o.demux.payload = req->payload;
	o.deadline = req->timeout > 0 ? proc_now() + req->timeout : 0;
	o.cancel = req->cancel;
	o.marker = marker;
	rc = docker_run_argv(d, out, argv, &o, err);
out:
	if (o.demux.err && o.demux.err != o.demux.out)
		fclose(o.demux.err);
	if (o.demux.out)
		fclose(o.demux.out);
	alts_free(argv);
	runner_env_free(env);
	return rc;
}

/* --- copies --- */

static void docker_local_file(struct docker *d, char *buf, size_t size, const char *what)
{
	snprintf(buf, size, "%s/%s-%lu", d->local, what, ++d->nfile);
}

/* True when path is a directory in the container (HEAD archive and its path-stat header). */
static int docker_is_dir(struct docker *d, const char *env_path, bool *out, struct alts_err *err)
{
	struct docker_req q = { .method = "HEAD", .timeout = DOCKER_HTTP_TIMEOUT };
	char path[PATH_MAX * 3 + 64];
	char *e = docker_escape(d, env_path);
	json_t *st = NULL;
	int rc;

	if (!e)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	snprintf(path, sizeof(path), "/containers/%s/archive?path=%s", d->id, e);
	alts_free(e);
	q.path = path;
	rc = docker_http(d, &q, err);
	*out = false;
	if (!rc && q.status == 200 && q.path_stat) {
		/* base64 of {"name":..., "mode": <Go FileMode: bit 31 is a directory>, ...} */
		const char *tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		struct sbuf dec = SBUF_INIT;
		unsigned acc = 0;
		int bits = 0;

		for (const char *p = q.path_stat; *p && *p != '='; p++) {
			const char *c = strchr(tbl, *p);

			if (!c)
				continue;
			acc = (acc << 6) | (unsigned)(c - tbl);
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				sbuf_addch(&dec, (char)((acc >> bits) & 0xff));
			}
		}
		st = json_loadb(dec.buf, dec.len, 0, NULL);
		*out = json_is_true(json_object_get(st, "isDir")) ||
		       (json_integer_value(json_object_get(st, "mode")) & ((json_int_t)1 << 31));
		sbuf_release(&dec);
		json_decref(st);
	}
	docker_req_release(&q);
	return rc;
}

static int docker_copy_in(struct runner *r, const char *host_path, const char *env_path, struct alts_err *err)
{
	struct docker *d = r->priv;
	char dir[PATH_MAX], base[PATH_MAX], stage[PATH_MAX + 32], staged[2 * PATH_MAX], tar[PATH_MAX + 32];
	bool is_dir = false;
	int rc = docker_is_dir(d, env_path, &is_dir, err);

	stage[0] = '\0';
	docker_local_file(d, tar, sizeof(tar), "in.tar");
	if (!rc && is_dir) {
		rc = runner_tar_pack(tar, host_path, err);
		if (!rc)
			rc = docker_put_archive(d, tar, env_path, err);
		goto out;
	}
	/* A new name: the archive's entry must carry it, so the host side is staged under that name. */
	if (!rc)
		rc = runner_tar_split(dir, sizeof(dir), base, sizeof(base), env_path, err);
	if (rc)
		goto out;
	docker_local_file(d, stage, sizeof(stage), "stage");
	if (mkdir(stage, 0700) < 0) {
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot create '%s'", stage);
		stage[0] = '\0';
		goto out;
	}
	if (!str_fmt(staged, sizeof(staged), "%s/%s", stage, base)) {
		rc = alts_err_set(err, ALTS_EINVALID, "path too long: '%s'", env_path);
		goto out;
	}
	rc = runner_host_copy(host_path, staged, err);
	if (!rc)
		rc = runner_tar_pack(tar, staged, err);
	if (!rc)
		rc = docker_put_archive(d, tar, dir, err);
out:
	if (rc)
		alts_err_prefix(err, "cannot copy '%s' to the container's '%s'", host_path, env_path);
	unlink(tar);
	if (stage[0])
		runner_remove_tree(stage);
	return rc;
}

static int docker_copy_out(struct runner *r, const char *env_path, const char *host_path, struct alts_err *err)
{
	struct docker *d = r->priv;
	struct docker_req q = { .method = "GET", .timeout = 3600 };
	char dir[PATH_MAX], base[PATH_MAX], tar[PATH_MAX + 32], path[PATH_MAX * 3 + 64];
	char *e = NULL;
	int rc = runner_tar_split(dir, sizeof(dir), base, sizeof(base), env_path, err);

	if (rc)
		return rc;
	docker_local_file(d, tar, sizeof(tar), "out.tar");
	if (!(e = docker_escape(d, env_path))) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	snprintf(path, sizeof(path), "/containers/%s/archive?path=%s", d->id, e);
	q.path = path;
	q.download_path = tar;
	rc = docker_http(d, &q, err);
	if (!rc && q.status != 200)
		rc = alts_err_set(err, q.status == 404 ? ALTS_ENOTFOUND : ALTS_EENV, "the docker daemon said %ld",
				  q.status);
	if (!rc)
		rc = runner_tar_unpack(tar, base, host_path, err);
	if (rc)
		alts_err_prefix(err, "cannot copy the container's '%s' to '%s'", env_path, host_path);
out:
	alts_free(e);
	unlink(tar);
	docker_req_release(&q);
	return rc;
}

/* --- lifecycle --- */

static int docker_connect(struct docker *d, const struct docker_conf *conf, struct alts_err *err)
{
	const char *url = conf->url ? conf->url : getenv("DOCKER_HOST");
	const char *cert = getenv("DOCKER_CERT_PATH");

	if (!url || !*url)
		url = "unix://" DOCKER_DEFAULT_SOCKET;
	if (!strncmp(url, "unix://", 7)) {
		d->sock = alts_strdup(url + 7);
		d->base = alts_strdup("http://docker" DOCKER_API);
	} else if (!strncmp(url, "tcp://", 6)) {
		bool tls = cert && *cert;

		d->base = alts_asprintf("%s://%s" DOCKER_API, tls ? "https" : "http", url + 6);
		if (tls && !(d->cert_dir = alts_strdup(cert)))
			return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	} else if (!strncmp(url, "http://", 7) || !strncmp(url, "https://", 8)) {
		d->base = alts_asprintf("%s" DOCKER_API, url);
		if (!strncmp(url, "https://", 8) && cert && *cert && !(d->cert_dir = alts_strdup(cert)))
			return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	} else {
		return alts_err_set(err, ALTS_EINVALID, "unsupported docker URL '%s'", url);
	}
	if (!d->base || (!strncmp(url, "unix://", 7) && !d->sock))
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	d->curl = d->cl->easy_init();
	if (!d->curl)
		return alts_err_set(err, ALTS_ENOMEM, "cannot initialise libcurl");
	return 0;
}

static int docker_ping(struct docker *d, struct alts_err *err)
{
	struct docker_req q = { .method = "GET", .path = "/_ping", .timeout = 30 };
	int rc = docker_call(d, &q, 200, 200, "reach the docker daemon", err);

	docker_req_release(&q);
	return rc;
}

static int docker_fill_info(struct runner *r, struct docker *d, struct alts_err *err)
{
	const char *mk[] = { "mkdir", "-p", DOCKER_WORKDIR, DOCKER_RUNDIR, NULL };
	const char *facts[] = { "/bin/sh", "-c", "uname -m; cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release",
				NULL };
	struct sbuf out = SBUF_INIT;
	char *nl;
	int rc = docker_helper(d, mk, NULL, "create the work directory", err);

	if (!rc)
		rc = docker_helper(d, facts, &out, "read /etc/os-release", err);
	if (rc)
		goto out;
	nl = strchr(out.buf, '\n');
	r->info.name = r->ops->name;
	r->info.arch = nl ? alts_strndup(out.buf, (size_t)(nl - out.buf)) : alts_strdup("");
	r->workdir = alts_strdup(DOCKER_WORKDIR);
	if (!r->info.arch || !r->workdir) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	rc = runner_parse_os_release(&r->info, nl ? nl + 1 : "", err);
out:
	sbuf_release(&out);
	return rc;
}

static int docker_prepare(struct runner *r, struct alts_err *err)
{
	struct docker *d = r->priv;
	const char *tmp = getenv("TMPDIR");
	unsigned char rnd[4] = { 0 };
	int fd, rc;

	rc = curl_lib_load(&d->cl, err);
	if (rc)
		return rc;
	rc = docker_connect(d, r->conf, err);
	if (!rc)
		rc = docker_pick(r, d, err);
	if (rc)
		return rc;
	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, rnd, sizeof(rnd)) != (ssize_t)sizeof(rnd)) {
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot read /dev/urandom");
		if (fd >= 0)
			close(fd);
		return rc;
	}
	close(fd);
	snprintf(d->name, sizeof(d->name), "alts-%ld-%02x%02x%02x%02x", (long)getpid(), rnd[0], rnd[1], rnd[2], rnd[3]);
	if (!docker_owner_of(d->owner, sizeof(d->owner), (long)getpid()))
		return alts_err_set(err, ALTS_EENV, "cannot read this process's start time in /proc");
	if (!str_fmt(d->local, sizeof(d->local), "%s/alts-docker-XXXXXX", tmp && *tmp ? tmp : "/tmp") || !mkdtemp(d->local)) {
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot create a directory like '%s'", d->local);
		d->local[0] = '\0';
		return rc;
	}
	rc = docker_ping(d, err);
	if (!rc)
		rc = docker_sweep(r, d, err);
	if (!rc)
		rc = docker_pull(r, d, err);
	if (!rc)
		rc = docker_create(r, d, err);
	if (!rc)
		rc = docker_fill_info(r, d, err);
	if (rc)
		return rc;  /* destroy removes a half-made container */
	alts_log(ALTS_LOG_DEBUG, r->log, "container %s (%.12s) from %s ready", d->name, d->id, d->image);
	return 0;
}

static int docker_teardown(struct runner *r, bool keep, struct alts_err *err)
{
	struct docker *d = r->priv;
	int rc;

	if (keep || r->keep_env) {
		fprintf(stderr, "alts: kept container %s (image %s); enter it with: docker exec -it %s /bin/sh\n", d->name,
			d->image, d->name);
		alts_free(d->id);
		d->id = NULL;
		return 0;
	}
	rc = d->id ? docker_remove(d, d->id, err) : 0;
	if (!rc) {
		alts_free(d->id);
		d->id = NULL;
	}
	return rc;
}

static void docker_destroy(struct runner *r)
{
	struct docker *d = r->priv;

	if (!d)
		return;
	if (d->id && d->curl) {
		struct alts_err err = ALTS_ERR_INIT;

		if (docker_remove(d, d->id, &err))
			alts_log(ALTS_LOG_WARN, r->log, "%s", err.msg);
	}
	if (d->local[0])
		runner_remove_tree(d->local);
	if (d->curl)
		d->cl->easy_cleanup(d->curl);
	alts_free(d->id);
	alts_free(d->sock);
	alts_free(d->base);
	alts_free(d->cert_dir);
}

/* --- settings: environment.docker --- */

static int docker_validate_url(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	static const char *const schemes[] = { "unix://", "tcp://", "http://", "https://", NULL };
	const char *url = *(const char **)field;

	for (const char *p = url; *p; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return conf_fail(ctx, node, path, "docker URL '%s' contains a space or control character", url);
	}
	for (const char *const *sc = schemes; *sc; sc++) {
		if (!strncmp(url, *sc, strlen(*sc)) && url[strlen(*sc)])
			return 0;
	}
	return conf_fail(ctx, node, path,
			 "'%s' is not a docker URL (unix:///path, tcp://host:port, http://host:port or https://host:port)",
			 url);
}

/* docker.image: one image name, or a mapping "<dist_name>-<dist_version>" -> image. */
static int docker_parse_image(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	struct docker_conf *d = field;
	const struct conf_key str = { "image", CONF_STRING, 0, CONF_NONEMPTY, NULL, NULL };
	const struct conf_key map = { "image", CONF_STRMAP, 0, CONF_NONEMPTY, NULL, NULL };
	int rc;

	if (conf_is_null(node))
		return 0;
	if (node->type == YAML_MAPPING_NODE) {
		rc = conf_decode_value(ctx, node, path, &map, &d->images);
		for (size_t i = 0; !rc && i < d->images.n; i++) {
			if (!docker_image_ok(d->images.values[i]))
				rc = conf_fail(ctx, node, conf_path_key(ctx, path, d->images.keys[i]),
					       "invalid image reference '%s'", d->images.values[i]);
		}
		return rc;
	}
	rc = conf_decode_value(ctx, node, path, &str, &d->image);
	if (!rc && !docker_image_ok(d->image))
		rc = conf_fail(ctx, node, path, "invalid image reference '%s'", d->image);
	return rc;
}

static int docker_validate_platform(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *p = *(const char **)field;

	for (const char *c = p; *c; c++) {
		if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && !strchr("/_-", *c))
			return conf_fail(ctx, node, path, "invalid platform '%s' (like linux/amd64 or linux/arm64/v8)", p);
	}
	return 0;
}

static const struct conf_key docker_conf_keys[] = {
	{ "url", CONF_STRING, offsetof(struct docker_conf, url), CONF_NONEMPTY, NULL, docker_validate_url },
	{ "image", CONF_CUSTOM, 0, 0, docker_parse_image, NULL },
	{ "platform", CONF_STRING, offsetof(struct docker_conf, platform), CONF_NONEMPTY, NULL,
	  docker_validate_platform },
	CONF_KEYS_END,
};

const struct runner_ops runner_docker_ops = {
	.name = "docker",
	.abi = RUNNER_ABI,
	.caps = RUNNER_CAP_ISOLATED,
	.priv_size = sizeof(struct docker),
	.conf_size = sizeof(struct docker_conf),
	.keys = docker_conf_keys,
	.prepare = docker_prepare,
	.exec = docker_exec,
	.copy_in = docker_copy_in,
	.copy_out = docker_copy_out,
	.teardown = docker_teardown,
	.destroy = docker_destroy,
};
