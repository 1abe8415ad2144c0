// Loads the C libraries Berth calls but does not link, on first use: libpq (a `berth` on the
// embedded store never maps it) and libcurl (mapped beside start-up work, not before `main`).
// The functions Berth calls are forwarders defined here (libpq.c, libcurl.c).
#pragma once
#include <stddef.h>

/// Loads libpq (once; later calls return the first outcome). Returns 0 on success; otherwise
/// writes the loader's message into `error` (at most `size` bytes, NUL-terminated) and returns -1.
int berth_libpq_load(char *error, size_t size);

/// The same for libcurl, which it also initializes (`curl_global_init`).
int berth_libcurl_load(char *error, size_t size);

/// Starts loading libcurl on a thread of its own and returns at once; a curl call made before
/// that load ends waits for it.
void berth_libcurl_preload(void);
