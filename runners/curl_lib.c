/*
 * libcurl through dlopen: see runners/curl_lib.h. The library stays
 * loaded until the process exits (curl_global_cleanup is not called:
 * another part of the same program, an artifact store, may use it too).
 */
#include "framework/common.h"
#include "runners/curl_lib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

static struct curl_lib curl_lib_table;
static char curl_lib_error[256];
static int curl_lib_rc;
static pthread_once_t curl_lib_once = PTHREAD_ONCE_INIT;

static void *curl_lib_sym(void *h, const char *name)
{
	void *p = dlsym(h, name);

	if (!p && !curl_lib_error[0]) {
		const char *why = dlerror();

		snprintf(curl_lib_error, sizeof(curl_lib_error), "cannot find %s in libcurl.so.4: %s", name,
			 why ? why : "no such symbol");
	}
	return p;
}

/* dlsym returns void *; POSIX guarantees it converts to a function pointer. */
#define CURL_LIB_BIND(h, field, sym) \
	(*(void **)&curl_lib_table.field = curl_lib_sym((h), (sym)))

static void curl_lib_open(void)
{
	void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	CURLcode (*global_init)(long flags) = NULL;

	if (!h) {
		const char *why = dlerror();

		snprintf(curl_lib_error, sizeof(curl_lib_error), "cannot load libcurl.so.4: %s",
			 why ? why : "unknown error");
		curl_lib_rc = ALTS_EENV;
		return;
	}
	*(void **)&global_init = curl_lib_sym(h, "curl_global_init");
	CURL_LIB_BIND(h, easy_init, "curl_easy_init");
	CURL_LIB_BIND(h, easy_reset, "curl_easy_reset");
	CURL_LIB_BIND(h, easy_setopt, "curl_easy_setopt");
	CURL_LIB_BIND(h, easy_perform, "curl_easy_perform");
	CURL_LIB_BIND(h, easy_getinfo, "curl_easy_getinfo");
	CURL_LIB_BIND(h, easy_strerror, "curl_easy_strerror");
	CURL_LIB_BIND(h, easy_escape, "curl_easy_escape");
	CURL_LIB_BIND(h, easy_cleanup, "curl_easy_cleanup");
	CURL_LIB_BIND(h, free, "curl_free");
	CURL_LIB_BIND(h, slist_append, "curl_slist_append");
	CURL_LIB_BIND(h, slist_free_all, "curl_slist_free_all");
	if (curl_lib_error[0]) {
		curl_lib_rc = ALTS_EENV;
		return;
	}
	if (global_init(CURL_GLOBAL_DEFAULT)) {
		snprintf(curl_lib_error, sizeof(curl_lib_error), "cannot initialise libcurl");
		curl_lib_rc = ALTS_EENV;
	}
}

int curl_lib_load(const struct curl_lib **out, struct alts_err *err)
{
	pthread_once(&curl_lib_once, curl_lib_open);
	if (curl_lib_rc)
		return alts_err_set(err, curl_lib_rc, "%s", curl_lib_error);
	*out = &curl_lib_table;
	return 0;
}
