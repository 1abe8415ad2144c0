// Loads libpq on first use, so a Berth that never talks to PostgreSQL (the embedded SQLite store)
// starts without mapping libpq and the libraries it needs.
#pragma once
#include <stddef.h>

/// Loads libpq (once; later calls return the first outcome). Returns 0 on success; otherwise
/// writes the loader's message into `error` (at most `size` bytes, NUL-terminated) and returns -1.
int berth_libpq_load(char *error, size_t size);
