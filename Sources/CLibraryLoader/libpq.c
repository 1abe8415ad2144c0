// libpq's functions that Berth calls, defined here as forwarders to the real ones, which are looked
// up in libpq.so.5 when the first of them is called. Berth links no libpq, so starting `berth`
// maps neither it nor its libraries (Kerberos, LDAP, SASL, ...) until a PostgreSQL store opens.
#include "CLibraryLoader.h"
#include "lazy_library.h"
#include "../CLibPQ/shim.h"

LAZY_LIBRARY(libpq, "libpq.so.5", "libpq5")

int berth_libpq_load(char *error, size_t size) { return lazy_library_outcome(libpq_load(), error, size); }

#define FORWARD(RETURN, NAME, PARAMS, ARGS) LAZY_FORWARD(libpq, RETURN, NAME, PARAMS, ARGS)
#define FORWARD_VOID(NAME, PARAMS, ARGS) LAZY_FORWARD_VOID(libpq, NAME, PARAMS, ARGS)

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
