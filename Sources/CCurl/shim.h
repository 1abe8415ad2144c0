// libcurl's declarations for BerthHTTP (Debian: libcurl4-openssl-dev), and typed wrappers for its
// variadic calls, which Swift cannot call directly. No `link`: CLibraryLoader (libcurl.c) defines
// these wrappers and the curl functions Berth calls as forwarders into libcurl.so.4, which it
// loads on a thread of its own as the process starts.
#ifndef BERTH_CCURL_SHIM_H
#define BERTH_CCURL_SHIM_H

#include <curl/curl.h>

typedef size_t (*berth_curl_data_callback)(char *buffer, size_t size, size_t count, void *context);
typedef int (*berth_curl_xferinfo_callback)(void *context, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow);

CURLcode berth_curl_set_long(CURL *handle, CURLoption option, long value);
CURLcode berth_curl_set_offset(CURL *handle, CURLoption option, curl_off_t value);
CURLcode berth_curl_set_string(CURL *handle, CURLoption option, const char *value);
CURLcode berth_curl_set_pointer(CURL *handle, CURLoption option, void *value);
CURLcode berth_curl_set_list(CURL *handle, CURLoption option, struct curl_slist *value);
CURLcode berth_curl_set_data_callback(CURL *handle, CURLoption option, berth_curl_data_callback value);
CURLcode berth_curl_set_xferinfo_callback(CURL *handle, berth_curl_xferinfo_callback value);
CURLcode berth_curl_get_long(CURL *handle, CURLINFO info, long *value);
CURLcode berth_curl_get_pointer(CURL *handle, CURLINFO info, char **value);
CURLMcode berth_curl_multi_set_long(CURLM *multi, CURLMoption option, long value);

#endif
