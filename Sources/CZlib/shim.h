// zlib's stream API with the gzip wrapper (windowBits 15 + 16), through functions Swift can call:
// deflateInit2 and inflateInit2 are macros.
#ifndef BERTH_CZLIB_SHIM_H
#define BERTH_CZLIB_SHIM_H

#include <zlib.h>

static inline int berth_gzip_deflate_init(z_stream *stream) {
    return deflateInit2(stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}

static inline int berth_gzip_inflate_init(z_stream *stream) {
    return inflateInit2(stream, 15 + 16);
}

#endif
