/* Debian's wasi-libc (2022) has no pthread.h, which CPython's headers include
 * for one type. CPython for WASI is built single-threaded; this is that type
 * as wasi-libc defines it. */
#ifndef BLUEPRINT_PTHREAD_SHIM_H
#define BLUEPRINT_PTHREAD_SHIM_H
typedef unsigned pthread_key_t;
#endif
