// libcurl's functions that Berth calls, and the typed wrappers of its variadic ones, defined here
// as forwarders into libcurl.so.4. Berth links no libcurl: its library closure (OpenSSL, GnuTLS,
// Kerberos, LDAP, SSH: about thirty files) took a fifth of a no-op `berth apply` when the dynamic loader
// mapped it before `main`. `berth` starts loading it on a thread of its own instead
// (`berth_libcurl_preload`), beside argument parsing and the rest of its start-up.
#include "CLibraryLoader.h"
#include "lazy_library.h"
#include "../CCurl/shim.h"

#include <dlfcn.h>

/// curl_global_init, once, right after the library opens: before any other curl call, and on
/// the preloading thread when there is one (it reads OpenSSL's configuration).
static const char *initialize(void *handle) {
    CURLcode (*global_init)(long) = (CURLcode(*)(long))dlsym(handle, "curl_global_init");
    if (!global_init) return "it has no curl_global_init";
    return global_init(CURL_GLOBAL_ALL) == CURLE_OK ? NULL : "curl_global_init failed";
}

LAZY_LIBRARY(libcurl, "libcurl.so.4", "libcurl4", initialize)

int berth_libcurl_load(char *error, size_t size) { return lazy_library_outcome(libcurl_load(), error, size); }

static void *preload(void *unused) {
    (void)unused;
    libcurl_load();
    return NULL;
}

void berth_libcurl_preload(void) {
    pthread_t thread;
    pthread_attr_t attributes;
    if (pthread_attr_init(&attributes) != 0) return;
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    // When no thread can start, the first curl call loads the library instead.
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
