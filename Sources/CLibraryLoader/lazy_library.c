#include "lazy_library.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

void lazy_library_open(struct lazy_library *library) {
    // Lazy binding, as for a linked library: the functions of the libraries it pulls in that Berth
    // never reaches are not looked up (0.7 of libcurl's 5.5 ms).
    void *handle = dlopen(library->file, RTLD_LAZY | RTLD_LOCAL);
    if (!handle) {
        const char *message = dlerror();
        snprintf(library->error, sizeof library->error, "cannot load %s (Debian: apt-get install %s): %s",
                 library->file, library->package, message ? message : "unknown error");
        return;
    }
    library->handle = handle;
}

int lazy_library_outcome(const struct lazy_library *library, char *error, size_t size) {
    if (library->handle) return 0;
    if (error && size > 0) snprintf(error, size, "%s", library->error);
    return -1;
}

void *lazy_library_symbol(const struct lazy_library *library, const char *name) {
    if (!library->handle) {
        fprintf(stderr, "berth: %s\n", library->error);
        abort();
    }
    void *symbol = dlsym(library->handle, name);
    if (!symbol) {
        fprintf(stderr, "berth: %s has no %s\n", library->file, name);
        abort();
    }
    return symbol;
}
