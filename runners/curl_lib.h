#ifndef ALTS_CURL_LIB_H
#define ALTS_CURL_LIB_H

/*
 * libcurl, loaded on demand. Only the docker runner speaks HTTP among the
 * runners; linking libcurl (and its ~30 dependent libraries: TLS, SSH,
 * LDAP, IDN, ...) into every program cost ~16 ms at start-up to alts-run
 * with a local or sandbox runner. The docker runner calls curl_lib_load()
 * when it prepares, and calls libcurl through the table it returns.
 * <curl/curl.h> is used for its types only.
 */

#include "framework/err.h"

#include <curl/curl.h>

struct curl_lib {
	CURL *(*easy_init)(void);
	void (*easy_reset)(CURL *h);
	CURLcode (*easy_setopt)(CURL *h, CURLoption opt, ...);
	CURLcode (*easy_perform)(CURL *h);
	CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
	const char *(*easy_strerror)(CURLcode code);
	char *(*easy_escape)(CURL *h, const char *s, int len);
	void (*easy_cleanup)(CURL *h);
	void (*free)(void *p);
	struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
	void (*slist_free_all)(struct curl_slist *list);
};

/*
 * Loads libcurl.so.4 once per process (thread-safe) and runs
 * curl_global_init. *out is borrowed for the life of the process.
 * ALTS_EENV with dlerror's text when the library or a symbol is missing.
 */
int curl_lib_load(const struct curl_lib **out, struct alts_err *err);

#endif
