// libpq's declarations for BerthStore's PostgresStore (Debian: libpq-dev). No `link`: the library
// is loaded when first used (CLibraryLoader), so the SQLite-only path never maps it.
#if __has_include(<libpq-fe.h>)
#include <libpq-fe.h>
#else
#include <postgresql/libpq-fe.h>
#endif
