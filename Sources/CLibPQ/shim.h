// libpq for BerthStore's PostgresStore (Debian: libpq-dev).
#include <libpq-fe.h>
