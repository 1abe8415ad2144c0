// libpq's functions that Berth calls, defined here as forwarders to the real ones, which are looked
// up in libpq.so.5 when the first of them is called. Berth links no libpq, so starting `berth`
// maps neither it nor its libraries (Kerberos, LDAP, SASL, ...) until a PostgreSQL store opens.
#include "CLibPQLoader.h"
#include "../CLibPQ/shim.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static void *library;
static char load_error[512];

static void load(void) {
    library = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        const char *message = dlerror();
        snprintf(load_error, sizeof load_error, "cannot load libpq (libpq.so.5; Debian: apt-get install libpq5): %s",
                 message ? message : "unknown error");
    }
}

int berth_libpq_load(char *error, size_t size) {
    pthread_once(&load_once, load);
    if (library) return 0;
    if (error && size > 0) snprintf(error, size, "%s", load_error);
    return -1;
}

// A forwarder called before `berth_libpq_load` succeeded, or a symbol missing from the library,
// is a programming error: Berth checks the library when a PostgreSQL store opens.
static void *resolve(const char *name) {
    char error[512];
    if (berth_libpq_load(error, sizeof error) != 0) {
        fprintf(stderr, "berth: %s\n", error);
        abort();
    }
    void *symbol = dlsym(library, name);
    if (!symbol) {
        fprintf(stderr, "berth: libpq has no %s\n", name);
        abort();
    }
    return symbol;
}

// The function libpq calls NAME, looked up on first use (racing threads store the same address).
#define TARGET(RETURN, NAME, PARAMS)                                              \
    static RETURN(*NAME##_target) PARAMS;                                         \
    static RETURN(*NAME##_resolved(void)) PARAMS {                                \
        RETURN(*found) PARAMS = __atomic_load_n(&NAME##_target, __ATOMIC_ACQUIRE); \
        if (!found) {                                                             \
            found = (RETURN(*) PARAMS)resolve(#NAME);                             \
            __atomic_store_n(&NAME##_target, found, __ATOMIC_RELEASE);            \
        }                                                                         \
        return found;                                                             \
    }

// Defines NAME(PARAMS), which returns what libpq's NAME returns for ARGS.
#define FORWARD(RETURN, NAME, PARAMS, ARGS) \
    TARGET(RETURN, NAME, PARAMS)            \
    RETURN NAME PARAMS { return NAME##_resolved() ARGS; }

// The same for a function that returns nothing.
#define FORWARD_VOID(NAME, PARAMS, ARGS) \
    TARGET(void, NAME, PARAMS)           \
    void NAME PARAMS { NAME##_resolved() ARGS; }

FORWARD(PGconn *, PQconnectdbParams, (const char *const *keywords, const char *const *values, int expand_dbname), (keywords, values, expand_dbname))
FORWARD(ConnStatusType, PQstatus, (const PGconn *conn), (conn))
FORWARD(int, PQsocket, (const PGconn *conn), (conn))
FORWARD_VOID(PQfinish, (PGconn *conn), (conn))
FORWARD(char *, PQerrorMessage, (const PGconn *conn), (conn))
FORWARD(int, PQconsumeInput, (PGconn *conn), (conn))
FORWARD(PGTransactionStatusType, PQtransactionStatus, (const PGconn *conn), (conn))
FORWARD(PQnoticeProcessor, PQsetNoticeProcessor, (PGconn *conn, PQnoticeProcessor proc, void *arg), (conn, proc, arg))
FORWARD(PGnotify *, PQnotifies, (PGconn *conn), (conn))
FORWARD_VOID(PQfreemem, (void *ptr), (ptr))
FORWARD(PGresult *, PQexec, (PGconn *conn, const char *query), (conn, query))
FORWARD(PGresult *, PQexecParams,
        (PGconn *conn, const char *command, int nParams, const Oid *paramTypes, const char *const *paramValues,
         const int *paramLengths, const int *paramFormats, int resultFormat),
        (conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats, resultFormat))
FORWARD(PGresult *, PQprepare, (PGconn *conn, const char *stmtName, const char *query, int nParams, const Oid *paramTypes),
        (conn, stmtName, query, nParams, paramTypes))
FORWARD(PGresult *, PQexecPrepared,
        (PGconn *conn, const char *stmtName, int nParams, const char *const *paramValues, const int *paramLengths,
         const int *paramFormats, int resultFormat),
        (conn, stmtName, nParams, paramValues, paramLengths, paramFormats, resultFormat))
FORWARD(ExecStatusType, PQresultStatus, (const PGresult *res), (res))
FORWARD(char *, PQresultErrorMessage, (const PGresult *res), (res))
FORWARD(char *, PQresultErrorField, (const PGresult *res, int fieldcode), (res, fieldcode))
FORWARD(int, PQntuples, (const PGresult *res), (res))
FORWARD(int, PQnfields, (const PGresult *res), (res))
FORWARD(char *, PQgetvalue, (const PGresult *res, int tup_num, int field_num), (res, tup_num, field_num))
FORWARD(int, PQgetisnull, (const PGresult *res, int tup_num, int field_num), (res, tup_num, field_num))
FORWARD_VOID(PQclear, (PGresult *res), (res))
