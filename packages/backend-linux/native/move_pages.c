/*
 * kmm_move_pages: move_pages(2) for @kmm/backend-linux, as a Node-API addon.
 *
 * One function, movePages(pid, pages, pageShift, nodes, flags, status, count), calls
 * the move_pages system call directly (no libnuma) on a libuv thread-pool thread and
 * returns a Promise: it resolves to the call's return value (0, or the number of pages
 * the kernel did not migrate) and rejects with an Error carrying `code` ("ESRCH",
 * "EPERM", ...) and `errno` when the call itself fails.
 *
 * - pages: Float64Array of virtual page numbers; address = page << pageShift.
 * - nodes: Int32Array of destination nodes (one per page), or null to query where the
 *   pages are (the kernel then writes each page's node, or -errno, into status).
 * - status: Int32Array the kernel writes one status per page into.
 *
 * The typed arrays are referenced until the call completes; JavaScript must not touch
 * `status` before the Promise settles.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_move_pages
#error "this platform has no move_pages system call"
#endif

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref refs[3];
  int nrefs;
  /* Inputs, read on the worker thread. */
  pid_t pid;
  const double *vpns;
  const int32_t *nodes;
  int32_t *status;
  size_t count;
  unsigned page_shift;
  int flags;
  /* Outputs. */
  long result;
  int err;
} Call;

#define CHECK(env, call)                                            \
  do {                                                              \
    if ((call) != napi_ok) {                                        \
      napi_throw_error((env), NULL, "kmm_move_pages: " #call " failed"); \
      return NULL;                                                  \
    }                                                               \
  } while (0)

static void execute(napi_env env, void *data) {
  (void)env;
  Call *c = (Call *)data;
  void **addrs = malloc(c->count * sizeof(void *));
  if (addrs == NULL) {
    c->result = -1;
    c->err = ENOMEM;
    return;
  }
  for (size_t i = 0; i < c->count; i++) addrs[i] = (void *)((uintptr_t)c->vpns[i] << c->page_shift);
  c->result = syscall(SYS_move_pages, c->pid, (unsigned long)c->count, addrs, c->nodes, c->status, c->flags);
  c->err = c->result < 0 ? errno : 0;
  free(addrs);
}

static const char *errno_code(int err) {
  switch (err) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EIO: return "EIO";
    case E2BIG: return "E2BIG";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case ENODEV: return "ENODEV";
    case EINVAL: return "EINVAL";
    case ENOSYS: return "ENOSYS";
    default: return "EUNKNOWN";
  }
}

static void complete(napi_env env, napi_status status, void *data) {
  Call *c = (Call *)data;
  for (int i = 0; i < c->nrefs; i++) napi_delete_reference(env, c->refs[i]);
  if (status != napi_ok) {
    napi_value msg, error;
    napi_create_string_utf8(env, "move_pages: the call was cancelled", NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &error);
    napi_reject_deferred(env, c->deferred, error);
  } else if (c->result < 0) {
    const char *code = errno_code(c->err);
    napi_value msg, code_value, errno_value, syscall_value, error;
    char text[160];
    snprintf(text, sizeof text, "move_pages(%d, %zu pages): %s (%s)", (int)c->pid, c->count, strerror(c->err), code);
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
    napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_value);
    napi_create_error(env, code_value, msg, &error);
    napi_create_int32(env, c->err, &errno_value);
    napi_set_named_property(env, error, "errno", errno_value);
    napi_create_string_utf8(env, "move_pages", NAPI_AUTO_LENGTH, &syscall_value);
    napi_set_named_property(env, error, "syscall", syscall_value);
    napi_reject_deferred(env, c->deferred, error);
  } else {
    napi_value value;
    napi_create_double(env, (double)c->result, &value);
    napi_resolve_deferred(env, c->deferred, value);
  }
  napi_delete_async_work(env, c->work);
  free(c);
}

/* Reads a typed array argument of the expected type with at least `count` elements. */
static int typed_array(napi_env env, napi_value value, napi_typedarray_type want, size_t count, void **data) {
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return 0;
  napi_typedarray_type type;
  size_t length;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, value, &type, &length, data, &buffer, &offset) != napi_ok) return 0;
  return type == want && length >= count;
}

static napi_value move_pages_js(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7) {
    napi_throw_type_error(env, NULL, "movePages(pid, pages, pageShift, nodes, flags, status, count)");
    return NULL;
  }
  int32_t pid, page_shift, flags;
  double count_d;
  if (napi_get_value_int32(env, argv[0], &pid) != napi_ok || napi_get_value_int32(env, argv[2], &page_shift) != napi_ok ||
      napi_get_value_int32(env, argv[4], &flags) != napi_ok || napi_get_value_double(env, argv[6], &count_d) != napi_ok) {
    napi_throw_type_error(env, NULL, "movePages: pid, pageShift, flags and count must be numbers");
    return NULL;
  }
  if (pid < 0 || page_shift < 12 || page_shift > 30 || !(count_d >= 0) || count_d > (double)(1u << 30)) {
    napi_throw_range_error(env, NULL, "movePages: pid, pageShift or count out of range");
    return NULL;
  }
  size_t count = (size_t)count_d;
  void *vpns = NULL, *status = NULL, *nodes = NULL;
  if (!typed_array(env, argv[1], napi_float64_array, count, &vpns)) {
    napi_throw_type_error(env, NULL, "movePages: pages must be a Float64Array of at least count page numbers");
    return NULL;
  }
  if (!typed_array(env, argv[5], napi_int32_array, count, &status)) {
    napi_throw_type_error(env, NULL, "movePages: status must be an Int32Array of at least count entries");
    return NULL;
  }
  napi_valuetype nodes_type;
  CHECK(env, napi_typeof(env, argv[3], &nodes_type));
  int query = nodes_type == napi_null || nodes_type == napi_undefined;
  if (!query && !typed_array(env, argv[3], napi_int32_array, count, &nodes)) {
    napi_throw_type_error(env, NULL, "movePages: nodes must be null (query) or an Int32Array of at least count nodes");
    return NULL;
  }

  Call *c = calloc(1, sizeof(Call));
  if (c == NULL) {
    napi_throw_error(env, "ENOMEM", "movePages: out of memory");
    return NULL;
  }
  c->pid = pid;
  c->vpns = vpns;
  c->nodes = query ? NULL : nodes;
  c->status = status;
  c->count = count;
  c->page_shift = (unsigned)page_shift;
  c->flags = flags;
  napi_create_reference(env, argv[1], 1, &c->refs[c->nrefs++]);
  napi_create_reference(env, argv[5], 1, &c->refs[c->nrefs++]);
  if (!query) napi_create_reference(env, argv[3], 1, &c->refs[c->nrefs++]);

  napi_value promise, name;
  CHECK(env, napi_create_promise(env, &c->deferred, &promise));
  CHECK(env, napi_create_string_utf8(env, "kmm.move_pages", NAPI_AUTO_LENGTH, &name));
  CHECK(env, napi_create_async_work(env, NULL, name, execute, complete, c, &c->work));
  CHECK(env, napi_queue_async_work(env, c->work));
  return promise;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn, flag;
  CHECK(env, napi_create_function(env, "movePages", NAPI_AUTO_LENGTH, move_pages_js, NULL, &fn));
  CHECK(env, napi_set_named_property(env, exports, "movePages", fn));
  CHECK(env, napi_create_int32(env, 1 << 1, &flag)); /* MPOL_MF_MOVE */
  CHECK(env, napi_set_named_property(env, exports, "MPOL_MF_MOVE", flag));
  CHECK(env, napi_create_int32(env, 1 << 2, &flag)); /* MPOL_MF_MOVE_ALL */
  CHECK(env, napi_set_named_property(env, exports, "MPOL_MF_MOVE_ALL", flag));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
