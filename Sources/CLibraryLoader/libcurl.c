// libcurl's functions that Berth calls, and the typed wrappers of its variadic ones, defined here
// as forwarders into libcurl.so.4. Berth links no libcurl: its library closure (OpenSSL, GnuTLS,
// Kerberos, LDAP, SSH: about thirty files) took a fifth of a no-op `berth apply` when the dynamic
// loader mapped it before `main`. It is loaded on a thread of its own instead, started as the
// process starts (`preload_at_start`), beside the rest of the start-up.
#include "lazy_library.h"
#include "../CCurl/shim.h"

#include <stdio.h>
#include <stdlib.h>

LAZY_LIBRARY(libcurl_file, "libcurl.so.4", "libcurl4")

static pthread_once_t initialized = PTHREAD_ONCE_INIT;

static void initialize(void) {
    struct lazy_library *library = libcurl_file_load();
    if (!library->handle) return;  // the lookup that follows names the error
    CURLcode (*global_init)(long) = (CURLcode(*)(long))lazy_library_symbol(library, "curl_global_init");
    if (global_init(CURL_GLOBAL_ALL) != CURLE_OK) {
        fprintf(stderr, "berth: curl_global_init failed\n");
        abort();
    }
}

/// libcurl, loaded, and initialized once (`curl_global_init`) on the thread of the first curl call:
/// not on the preloading thread, where an `exit` meanwhile (`berth --version`) would run OpenSSL's
/// clean-up while it is being set up. An unfinished `dlopen` is safe: `exit` waits for it.
static struct lazy_library *libcurl_load(void) {
    pthread_once(&initialized, initialize);
    return libcurl_file_load();
}

static void *preload(void *unused) {
    (void)unused;
    libcurl_file_load();
    return NULL;
}

/// Runs as the process starts, before `main`: the load overlaps the Swift runtime's set-up and
/// argument parsing. When no thread can start, the first curl call loads the library instead.
__attribute__((constructor)) static void preload_at_start(void) {
    pthread_t thread;
    pthread_attr_t attributes;
    if (pthread_attr_init(&attributes) != 0) return;
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    (void)pthread_create(&thread, &attributes, preload, NULL);
    pthread_attr_destroy(&attributes);
}

#define FORWARD(RETURN, NAME, PARAMS, ARGS) LAZY_FORWARD(libcurl, RETURN, NAME, PARAMS, ARGS)
#define FORWARD_VOID(NAME, PARAMS, ARGS) LAZY_FORWARD_VOID(libcurl, NAME, PARAMS, ARGS)

FORWARD(CURL *, curl_easy_init, (void), ())
FORWARD_VOID(curl_easy_cleanup, (CURL *handle), (handle))
FORWARD(const char *, curl_easy_strerror, (CURLcode code), (code))
FORWARD(CURLM *, curl_multi_init, (void), ())
FORWARD(CURLMcode, curl_multi_cleanup, (CURLM *multi), (multi))
FORWARD(CURLMcode, curl_multi_add_handle, (CURLM *multi, CURL *handle), (multi, handle))
FORWARD(CURLMcode, curl_multi_remove_handle, (CURLM *multi, CURL *handle), (multi, handle))
FORWARD(CURLMcode, curl_multi_perform, (CURLM *multi, int *running), (multi, running))
FORWARD(CURLMcode, curl_multi_poll, (CURLM *multi, struct curl_waitfd extra[], unsigned int count, int timeout, int *ready),
        (multi, extra, count, timeout, ready))
FORWARD(CURLMcode, curl_multi_wakeup, (CURLM *multi), (multi))
FORWARD(CURLMsg *, curl_multi_info_read, (CURLM *multi, int *queued), (multi, queued))
FORWARD(struct curl_slist *, curl_slist_append, (struct curl_slist *list, const char *string), (list, string))
FORWARD_VOID(curl_slist_free_all, (struct curl_slist *list), (list))

// The variadic calls, each wrapper passing its one argument with its own type.
LAZY_TARGET(libcurl, CURLcode, easy_setopt, "curl_easy_setopt", (CURL *, CURLoption, ...))
LAZY_TARGET(libcurl, CURLcode, easy_getinfo, "curl_easy_getinfo", (CURL *, CURLINFO, ...))
LAZY_TARGET(libcurl, CURLMcode, multi_setopt, "curl_multi_setopt", (CURLM *, CURLMoption, ...))

CURLcode berth_curl_set_long(CURL *handle, CURLoption option, long value) { return easy_setopt_target()(handle, option, value); }
CURLcode berth_curl_set_offset(CURL *handle, CURLoption option, curl_off_t value) { return easy_setopt_target()(handle, option, value); }
CURLcode berth_curl_set_string(CURL *handle, CURLoption option, const char *value) { return easy_setopt_target()(handle, option, value); }
CURLcode berth_curl_set_pointer(CURL *handle, CURLoption option, void *value) { return easy_setopt_target()(handle, option, value); }
CURLcode berth_curl_set_list(CURL *handle, CURLoption option, struct curl_slist *value) { return easy_setopt_target()(handle, option, value); }
CURLcode berth_curl_set_data_callback(CURL *handle, CURLoption option, berth_curl_data_callback value) {
    return easy_setopt_target()(handle, option, value);
}
CURLcode berth_curl_set_xferinfo_callback(CURL *handle, berth_curl_xferinfo_callback value) {
    return easy_setopt_target()(handle, CURLOPT_XFERINFOFUNCTION, value);
}
CURLcode berth_curl_get_long(CURL *handle, CURLINFO info, long *value) { return easy_getinfo_target()(handle, info, value); }
CURLcode berth_curl_get_pointer(CURL *handle, CURLINFO info, char **value) { return easy_getinfo_target()(handle, info, value); }
CURLMcode berth_curl_multi_set_long(CURLM *multi, CURLMoption option, long value) { return multi_setopt_target()(multi, option, value); }
