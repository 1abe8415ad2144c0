// Typed wrappers for libcurl's variadic calls, which Swift cannot call directly.
// Writing the callee in parentheses keeps curl's type-checking macros out.
#ifndef BERTH_CCURL_SHIM_H
#define BERTH_CCURL_SHIM_H

#include <curl/curl.h>

typedef size_t (*berth_curl_data_callback)(char *buffer, size_t size, size_t count, void *context);
typedef int (*berth_curl_xferinfo_callback)(void *context, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow);

static inline CURLcode berth_curl_set_long(CURL *handle, CURLoption option, long value) {
    return (curl_easy_setopt)(handle, option, value);
}

static inline CURLcode berth_curl_set_offset(CURL *handle, CURLoption option, curl_off_t value) {
    return (curl_easy_setopt)(handle, option, value);
}

static inline CURLcode berth_curl_set_string(CURL *handle, CURLoption option, const char *value) {
    return (curl_easy_setopt)(handle, option, value);
}

static inline CURLcode berth_curl_set_pointer(CURL *handle, CURLoption option, void *value) {
    return (curl_easy_setopt)(handle, option, value);
}

static inline CURLcode berth_curl_set_list(CURL *handle, CURLoption option, struct curl_slist *value) {
    return (curl_easy_setopt)(handle, option, value);
}

static inline CURLcode berth_curl_set_data_callback(CURL *handle, CURLoption option, berth_curl_data_callback value) {
    return (curl_easy_setopt)(handle, option, value);
}

static inline CURLcode berth_curl_set_xferinfo_callback(CURL *handle, berth_curl_xferinfo_callback value) {
    return (curl_easy_setopt)(handle, CURLOPT_XFERINFOFUNCTION, value);
}

static inline CURLcode berth_curl_get_long(CURL *handle, CURLINFO info, long *value) {
    return (curl_easy_getinfo)(handle, info, value);
}

static inline CURLcode berth_curl_get_pointer(CURL *handle, CURLINFO info, char **value) {
    return (curl_easy_getinfo)(handle, info, value);
}

static inline CURLMcode berth_curl_multi_set_long(CURLM *multi, CURLMoption option, long value) {
    return (curl_multi_setopt)(multi, option, value);
}

#endif
