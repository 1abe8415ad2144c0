// Loads the C libraries Berth calls but does not link: libpq on first use (a `berth` on the
// embedded store never maps it), libcurl on a thread of its own that starts with the process
// (mapped beside the start-up work, not before it).
// The functions Berth calls are forwarders defined here (libpq.c, libcurl.c).
#pragma once
#include <stddef.h>

/// Loads libpq (once; later calls return the first outcome). Returns 0 on success; otherwise
/// writes the loader's message into `error` (at most `size` bytes, NUL-terminated) and returns -1.
int berth_libpq_load(char *error, size_t size);
