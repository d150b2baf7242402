/*
 * Batched UDP receive for dattss: one recvmmsg(2) call takes up to a batch of
 * datagrams into one buffer shared with JavaScript, and JavaScript is called
 * once per batch. Node's dgram makes a Buffer, an rinfo object with the
 * sender's address as a string, and a callback for every datagram, which is
 * most of the cost of a one-line datagram (bench/README.md).
 *
 * Linux only (recvmmsg); src/ingest/udp-socket.ts is its JavaScript side and
 * falls back to dgram where this is not built. Every call comes on the thread
 * of the environment that opened the socket (the daemon's or a receive
 * thread's), so nothing here is shared between threads.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

typedef struct {
  napi_env env;
  int fd;
  /* uv_poll_init_socket ran: the poll handle must be closed through libuv. */
  int polling;
  /* shut() ran: reading stopped and the socket is closed or closing. */
  int shut;
  /* uv_close was asked and its callback has not run yet. */
  int poll_closing;
  /* The JavaScript handle was collected: whoever finishes last frees. */
  int finalized;
  uv_poll_t poll;
  napi_ref buffer;
  napi_ref lengths;
  napi_ref on_batch;
  napi_async_context async;
  napi_async_cleanup_hook_handle cleanup;
  unsigned char *data;
  uint32_t *length_out;
  unsigned int slots;
  size_t slot_bytes;
  struct mmsghdr *messages;
  struct iovec *vectors;
} receiver;

#define CHECK(call)                                   \
  do {                                                \
    if ((call) != napi_ok) {                          \
      napi_throw_error(env, NULL, #call " failed");   \
      return NULL;                                    \
    }                                                 \
  } while (0)

static napi_value throw_errno(napi_env env, int error, const char *what) {
  char message[256];
  snprintf(message, sizeof message, "%s %s: %s", what, uv_err_name(-error), uv_strerror(-error));
  napi_value code, text, exception;
  napi_create_string_utf8(env, uv_err_name(-error), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &text);
  napi_create_error(env, code, text, &exception);
  napi_set_named_property(env, exception, "code", code);
  napi_throw(env, exception);
  return NULL;
}

/* A call's `count` arguments into argv, the first of them being a receiver; NULL with an exception pending. */
static receiver *receiver_call(napi_env env, napi_callback_info info, size_t count, napi_value *argv) {
  size_t argc = count;
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < count ||
      napi_get_value_external(env, argv[0], &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, "expected a receiver and its arguments");
    return NULL;
  }
  return data;
}

/* Drops what start() holds; the descriptor is closed by the caller. */
static void release(receiver *r) {
  napi_env env = r->env;
  if (r->buffer) napi_delete_reference(env, r->buffer);
  if (r->lengths) napi_delete_reference(env, r->lengths);
  if (r->on_batch) napi_delete_reference(env, r->on_batch);
  if (r->async) napi_async_destroy(env, r->async);
  r->buffer = r->lengths = r->on_batch = NULL;
  r->async = NULL;
  free(r->messages);
  free(r->vectors);
  r->messages = NULL;
  r->vectors = NULL;
}

/* The socket is closed for good: nothing more is owed to the environment's teardown. */
static void closed(receiver *r) {
  close(r->fd);
  release(r);
  if (r->cleanup) napi_remove_async_cleanup_hook(r->cleanup);
  r->cleanup = NULL;
  if (r->finalized) free(r);
}

static void on_poll_closed(uv_handle_t *handle) {
  receiver *r = handle->data;
  r->poll_closing = 0;
  closed(r);
}

/* Stops reading and closes the socket: at once, or once libuv has let go of the poll handle. */
static void shut(receiver *r) {
  if (r->shut) return;
  r->shut = 1;
  if (r->polling) {
    r->poll_closing = 1;
    uv_poll_stop(&r->poll);
    uv_close((uv_handle_t *)&r->poll, on_poll_closed);
  } else {
    closed(r);
  }
}

/* The environment is going away (a worker thread ends, the process exits) with the socket open. */
static void on_env_cleanup(napi_async_cleanup_hook_handle handle, void *data) {
  shut(data);
}

/* The JavaScript handle is gone: close the socket if it was left open, and free once libuv is done. */
static void finalize(napi_env env, void *data, void *hint) {
  receiver *r = data;
  r->finalized = 1;
  if (!r->shut) shut(r);
  else if (!r->poll_closing) free(r);
}

static void on_readable(uv_poll_t *poll, int status, int events) {
  receiver *r = poll->data;
  napi_env env = r->env;
  int count;
  if (status < 0) {
    count = status;
  } else {
    count = recvmmsg(r->fd, r->messages, r->slots, MSG_DONTWAIT, NULL);
    if (count < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      count = -errno;
    }
    for (int i = 0; i < count; i++) r->length_out[i] = r->messages[i].msg_len;
  }
  if (count == 0) return;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value callback, argument, receiver_this, result;
  napi_get_reference_value(env, r->on_batch, &callback);
  napi_get_global(env, &receiver_this);
  napi_create_int32(env, count, &argument);
  if (napi_make_callback(env, r->async, receiver_this, callback, 1, &argument, &result) == napi_pending_exception) {
    napi_value exception;
    napi_get_and_clear_last_exception(env, &exception);
    napi_fatal_exception(env, exception);
  }
  napi_close_handle_scope(env, scope);
}

/* open(address, port, ipv6, reusePort) → receiver: a bound, non-blocking UDP socket. */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char address[64];
  size_t address_length;
  int32_t port;
  bool ipv6, reuse_port;
  CHECK(napi_get_value_string_utf8(env, argv[0], address, sizeof address, &address_length));
  CHECK(napi_get_value_int32(env, argv[1], &port));
  CHECK(napi_get_value_bool(env, argv[2], &ipv6));
  CHECK(napi_get_value_bool(env, argv[3], &reuse_port));

  struct sockaddr_storage storage;
  memset(&storage, 0, sizeof storage);
  socklen_t storage_length;
  if (ipv6) {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&storage;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, address, &in6->sin6_addr) != 1) return throw_errno(env, EINVAL, "inet_pton: not an IPv6 address");
    storage_length = sizeof *in6;
  } else {
    struct sockaddr_in *in4 = (struct sockaddr_in *)&storage;
    in4->sin_family = AF_INET;
    in4->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, address, &in4->sin_addr) != 1) return throw_errno(env, EINVAL, "inet_pton: not an IPv4 address");
    storage_length = sizeof *in4;
  }
  int fd = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket");
  int on = 1;
  if (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) {
    int error = errno;
    close(fd);
    return throw_errno(env, error, "setsockopt SO_REUSEPORT");
  }
  if (bind(fd, (struct sockaddr *)&storage, storage_length) != 0) {
    int error = errno;
    close(fd);
    return throw_errno(env, error, "bind");
  }
  receiver *r = calloc(1, sizeof *r);
  if (r == NULL) {
    close(fd);
    return throw_errno(env, ENOMEM, "open");
  }
  r->env = env;
  r->fd = fd;
  napi_value external;
  if (napi_add_async_cleanup_hook(env, on_env_cleanup, r, &r->cleanup) != napi_ok) {
    close(fd);
    free(r);
    napi_throw_error(env, NULL, "cannot create a receiver");
    return NULL;
  }
  if (napi_create_external(env, r, finalize, NULL, &external) != napi_ok) {
    napi_remove_async_cleanup_hook(r->cleanup);
    close(fd);
    free(r);
    napi_throw_error(env, NULL, "cannot create a receiver");
    return NULL;
  }
  return external;
}

/* address(receiver) → [address, port, family]. */
static napi_value js_address(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  receiver *r = receiver_call(env, info, 1, argv);
  if (r == NULL) return NULL;
  if (r->shut) return throw_errno(env, EBADF, "address");
  struct sockaddr_storage storage;
  socklen_t length = sizeof storage;
  if (getsockname(r->fd, (struct sockaddr *)&storage, &length) != 0) return throw_errno(env, errno, "getsockname");
  char text[INET6_ADDRSTRLEN];
  int port;
  const char *family;
  if (storage.ss_family == AF_INET6) {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&storage;
    inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    port = ntohs(in6->sin6_port);
    family = "IPv6";
  } else {
    struct sockaddr_in *in4 = (struct sockaddr_in *)&storage;
    inet_ntop(AF_INET, &in4->sin_addr, text, sizeof text);
    port = ntohs(in4->sin_port);
    family = "IPv4";
  }
  napi_value result, element;
  CHECK(napi_create_array_with_length(env, 3, &result));
  CHECK(napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &element));
  CHECK(napi_set_element(env, result, 0, element));
  CHECK(napi_create_int32(env, port, &element));
  CHECK(napi_set_element(env, result, 1, element));
  CHECK(napi_create_string_utf8(env, family, NAPI_AUTO_LENGTH, &element));
  CHECK(napi_set_element(env, result, 2, element));
  return result;
}

/* recvBufferSize(receiver, bytes) → the kernel's SO_RCVBUF after asking for `bytes` (0: only read it). */
static napi_value js_recv_buffer_size(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  receiver *r = receiver_call(env, info, 2, argv);
  if (r == NULL) return NULL;
  int32_t bytes;
  CHECK(napi_get_value_int32(env, argv[1], &bytes));
  if (r->shut) return throw_errno(env, EBADF, "recvBufferSize");
  if (bytes > 0 && setsockopt(r->fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes) != 0) return throw_errno(env, errno, "setsockopt SO_RCVBUF");
  int granted = 0;
  socklen_t length = sizeof granted;
  if (getsockopt(r->fd, SOL_SOCKET, SO_RCVBUF, &granted, &length) != 0) return throw_errno(env, errno, "getsockopt SO_RCVBUF");
  napi_value result;
  CHECK(napi_create_int32(env, granted, &result));
  return result;
}

/*
 * start(receiver, buffer, lengths, onBatch): `buffer` (a Uint8Array) is cut
 * into lengths.length slots of equal size; each time the socket is readable,
 * up to that many datagrams are read into the slots, their sizes into
 * `lengths`, and onBatch(count) is called; a negative count is -errno.
 */
static napi_value js_start(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  receiver *r = receiver_call(env, info, 4, argv);
  if (r == NULL) return NULL;
  if (r->shut || r->polling) return throw_errno(env, EBADF, "start");
  napi_typedarray_type type;
  size_t length, offset;
  void *data;
  napi_value arraybuffer;
  CHECK(napi_get_typedarray_info(env, argv[1], &type, &length, &data, &arraybuffer, &offset));
  if (type != napi_uint8_array) return throw_errno(env, EINVAL, "start: the buffer must be a Uint8Array");
  size_t slots;
  void *lengths;
  CHECK(napi_get_typedarray_info(env, argv[2], &type, &slots, &lengths, &arraybuffer, &offset));
  if (type != napi_uint32_array || slots == 0 || length / slots == 0) return throw_errno(env, EINVAL, "start: lengths must be a non-empty Uint32Array");
  r->data = data;
  r->length_out = lengths;
  r->slots = (unsigned int)slots;
  r->slot_bytes = length / slots;
  r->messages = calloc(slots, sizeof *r->messages);
  r->vectors = calloc(slots, sizeof *r->vectors);
  if (r->messages == NULL || r->vectors == NULL) return throw_errno(env, ENOMEM, "start");
  for (size_t i = 0; i < slots; i++) {
    r->vectors[i].iov_base = r->data + i * r->slot_bytes;
    r->vectors[i].iov_len = r->slot_bytes;
    r->messages[i].msg_hdr.msg_iov = &r->vectors[i];
    r->messages[i].msg_hdr.msg_iovlen = 1;
  }
  napi_value name, resource;
  CHECK(napi_create_reference(env, argv[1], 1, &r->buffer));
  CHECK(napi_create_reference(env, argv[2], 1, &r->lengths));
  CHECK(napi_create_reference(env, argv[3], 1, &r->on_batch));
  CHECK(napi_create_string_utf8(env, "dattss:udp-batch", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_object(env, &resource));
  CHECK(napi_async_init(env, resource, name, &r->async));
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  int error = uv_poll_init_socket(loop, &r->poll, r->fd);
  if (error != 0) return throw_errno(env, -error, "uv_poll_init_socket");
  r->poll.data = r;
  r->polling = 1;
  error = uv_poll_start(&r->poll, UV_READABLE, on_readable);
  if (error != 0) return throw_errno(env, -error, "uv_poll_start");
  return NULL;
}

/* close(receiver): stops reading; the socket is closed. Idempotent. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  receiver *r = receiver_call(env, info, 1, argv);
  if (r == NULL) return NULL;
  shut(r);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor properties[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"address", NULL, js_address, NULL, NULL, NULL, napi_enumerable, NULL},
      {"recvBufferSize", NULL, js_recv_buffer_size, NULL, NULL, NULL, napi_enumerable, NULL},
      {"start", NULL, js_start, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof properties / sizeof *properties, properties) != napi_ok) return NULL;
  return exports;
}
