// A shared library Berth does not link but opens with dlopen when it first needs it, and the
// macros that define forwarders to its functions. Private to CLibraryLoader (libpq.c, libcurl.c).
#pragma once
#include <pthread.h>
#include <stddef.h>

struct lazy_library {
    /// The file dlopen looks for, e.g. "libpq.so.5".
    const char *file;
    /// The Debian package that ships it, named in the error.
    const char *package;
    pthread_once_t once;
    void *handle;
    char error[512];
};

/// Opens the library (run once, through its `pthread_once`).
void lazy_library_open(struct lazy_library *library);
/// 0 when the library is open; otherwise copies why not into `error` and returns -1.
int lazy_library_outcome(const struct lazy_library *library, char *error, size_t size);
/// NAME's address in the library, which must be open. A library that failed to open, or a symbol
/// missing from it, is a programming error (Berth loads each library first, where it can say
/// why it cannot): the process ends, naming it.
void *lazy_library_symbol(const struct lazy_library *library, const char *name);

/// Defines `static struct lazy_library NAME` for FILE (shipped by PACKAGE), its `pthread_once`
/// routine NAME_open_once, and NAME_load(), which opens it once and returns it.
#define LAZY_LIBRARY(NAME, FILE, PACKAGE)                                            \
    static struct lazy_library NAME = {FILE, PACKAGE, PTHREAD_ONCE_INIT, NULL, {0}}; \
    static void NAME##_open_once(void) { lazy_library_open(&NAME); }                \
    static struct lazy_library *NAME##_load(void) {                                  \
        pthread_once(&NAME.once, NAME##_open_once);                                  \
        return &NAME;                                                                \
    }

/// The function LIBRARY calls SYMBOL, of type RETURN(PARAMS), looked up on first use as
/// NAME_target() (racing threads store the same address). LIBRARY_load() gives the open library:
/// the one LAZY_LIBRARY defines, or a file's own that also sets the library up (libcurl.c).
#define LAZY_TARGET(LIBRARY, RETURN, NAME, SYMBOL, PARAMS)                                            \
    static RETURN(*NAME##_pointer) PARAMS;                                                            \
    static RETURN(*NAME##_target(void)) PARAMS {                                                      \
        RETURN(*found) PARAMS = __atomic_load_n(&NAME##_pointer, __ATOMIC_ACQUIRE);                   \
        if (!found) {                                                                                 \
            found = (RETURN(*) PARAMS)lazy_library_symbol(LIBRARY##_load(), SYMBOL);                  \
            __atomic_store_n(&NAME##_pointer, found, __ATOMIC_RELEASE);                               \
        }                                                                                             \
        return found;                                                                                 \
    }

/// Defines NAME(PARAMS), which returns what LIBRARY's NAME returns for ARGS.
#define LAZY_FORWARD(LIBRARY, RETURN, NAME, PARAMS, ARGS) \
    LAZY_TARGET(LIBRARY, RETURN, NAME, #NAME, PARAMS)     \
    RETURN NAME PARAMS { return NAME##_target() ARGS; }

/// The same for a function that returns nothing.
#define LAZY_FORWARD_VOID(LIBRARY, NAME, PARAMS, ARGS) \
    LAZY_TARGET(LIBRARY, void, NAME, #NAME, PARAMS)     \
    void NAME PARAMS { NAME##_target() ARGS; }
