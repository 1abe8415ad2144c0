// The system SQLite for BerthStore's SQLiteStore (Debian: libsqlite3-dev).
#include <sqlite3.h>

// SQLITE_TRANSIENT is a cast macro Swift cannot import: SQLite copies the bound value.
static inline void (*berth_sqlite_transient(void))(void *) { return SQLITE_TRANSIENT; }
