/*
 * Batched UDP receive for dattss: one recvmmsg(2) call takes up to a batch of
 * datagrams into one buffer shared with JavaScript, and JavaScript is called
 * once per batch. Node's dgram makes a Buffer, an rinfo object with the
 * sender's address as a string, and a callback for every datagram, which is
 * most of the cost of a one-line datagram (bench/README.md).
 *
 * Two ways to read. Polled: the socket is read on the thread of the
 * environment that opened it (the daemon's or a receive thread's), each time
 * libuv finds it readable. Queued: a reading thread of its own takes
 * datagrams as they come into a queue of queue_bytes, and the environment's
 * thread is woken to take them from it; while JavaScript is busy (a burst of
 * new series, a collection, a flush) the socket is still emptied, so the
 * kernel drops nothing until the queue is full, whatever net.core.rmem_max
 * allows the socket. Only the queue's indices, its lock and `error` are
 * shared with the reading thread.
 *
 * Linux only (recvmmsg); src/ingest/udp-socket.ts is its JavaScript side and
 * falls back to dgram where this is not built.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

typedef struct {
  napi_env env;
  int fd;
  /* uv_poll_init_socket ran: the poll handle must be closed through libuv. */
  int polling;
  /* The reading thread and the wake handle are running: both must be stopped. */
  int queued;
  /* shut() ran: reading stopped and the socket is closed or closing. */
  int shut;
  /* uv_close was asked and its callback has not run yet. */
  int handle_closing;
  /* The JavaScript handle was collected: whoever finishes last frees. */
  int finalized;
  uv_poll_t poll;
  /* Queued reading: the reading thread wakes the environment's thread through this. */
  uv_async_t wake;
  pthread_t thread;
  /* Written to stop the reading thread's poll(2). */
  int stop_fd;
  atomic_int stopping;
  /* An errno from the reading thread, for JavaScript; 0 when none. */
  atomic_int error;
  /*
   * The queue: records of a uint32_t length and the datagram's bytes, each
   * padded to 4 bytes; a length of WRAP sends the reader to the front.
   * `head` and `tail` count bytes ever written and taken.
   */
  unsigned char *queue;
  size_t queue_bytes;
  atomic_size_t head;
  atomic_size_t tail;
  pthread_mutex_t lock;
  pthread_cond_t room;
  /* The reading thread waits on `room` (under `lock`). */
  int writer_waiting;
  /* The reading thread's own slots, where recvmmsg puts datagrams before they are queued. */
  unsigned char *stage;
  struct mmsghdr *stage_messages;
  struct iovec *stage_vectors;
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

#define WRAP UINT32_MAX
/* Batches a wake hands JavaScript before the event loop goes round, so that ticks are not starved. */
#define BATCHES_PER_WAKE 4

static size_t record_bytes(uint32_t length) { return 4 + (((size_t)length + 3) & ~(size_t)3); }

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
  free(r->queue);
  free(r->stage);
  free(r->stage_messages);
  free(r->stage_vectors);
  r->queue = r->stage = NULL;
  r->stage_messages = NULL;
  r->stage_vectors = NULL;
  if (r->stop_fd > 0) close(r->stop_fd);
  r->stop_fd = -1;
}

/* The socket is closed for good: nothing more is owed to the environment's teardown. */
static void closed(receiver *r) {
  close(r->fd);
  release(r);
  if (r->cleanup) napi_remove_async_cleanup_hook(r->cleanup);
  r->cleanup = NULL;
  if (r->finalized) free(r);
}

static void on_handle_closed(uv_handle_t *handle) {
  receiver *r = handle->data;
  r->handle_closing = 0;
  closed(r);
}

/* Stops the reading thread and waits for it: it leaves its poll(2) or its wait for room at once. */
static void stop_thread(receiver *r) {
  atomic_store(&r->stopping, 1);
  uint64_t one = 1;
  if (write(r->stop_fd, &one, sizeof one) < 0) {
    /* An eventfd write fails only at its counter's limit, which one write never reaches. */
  }
  pthread_mutex_lock(&r->lock);
  pthread_cond_signal(&r->room);
  pthread_mutex_unlock(&r->lock);
  pthread_join(r->thread, NULL);
  pthread_mutex_destroy(&r->lock);
  pthread_cond_destroy(&r->room);
}

/* Stops reading and closes the socket: at once, or once libuv has let go of the handle. */
static void shut(receiver *r) {
  if (r->shut) return;
  r->shut = 1;
  if (r->polling) {
    r->handle_closing = 1;
    uv_poll_stop(&r->poll);
    uv_close((uv_handle_t *)&r->poll, on_handle_closed);
  } else if (r->queued) {
    stop_thread(r);
    r->handle_closing = 1;
    uv_close((uv_handle_t *)&r->wake, on_handle_closed);
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
  else if (!r->handle_closing) free(r);
}

/* Calls onBatch(count): `count` datagrams are in the slots, or count is -errno. */
static void deliver(receiver *r, int count) {
  napi_env env = r->env;
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

static void on_readable(uv_poll_t *poll, int status, int events) {
  receiver *r = poll->data;
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
  if (count != 0) deliver(r, count);
}

/* The reading thread: waits until the queue has `bytes` free after `head`; 0 when told to stop instead. */
static int wait_for_room(receiver *r, size_t head, size_t bytes) {
  if (r->queue_bytes - (head - atomic_load_explicit(&r->tail, memory_order_acquire)) >= bytes) return 1;
  /* Whatever it queued so far must reach JavaScript, or the room would never come. */
  uv_async_send(&r->wake);
  pthread_mutex_lock(&r->lock);
  r->writer_waiting = 1;
  while (!atomic_load(&r->stopping) && r->queue_bytes - (head - atomic_load_explicit(&r->tail, memory_order_acquire)) < bytes) {
    pthread_cond_wait(&r->room, &r->lock);
  }
  r->writer_waiting = 0;
  pthread_mutex_unlock(&r->lock);
  return !atomic_load(&r->stopping);
}

/* The reading thread: queues one datagram, waiting for room; 0 when told to stop instead. */
static int enqueue(receiver *r, const unsigned char *bytes, uint32_t length) {
  size_t need = record_bytes(length);
  size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
  size_t at = head % r->queue_bytes;
  size_t to_end = r->queue_bytes - at;
  /*
   * A record that would not fit before the end starts at the front (there is
   * room for it: the queue holds two of the largest). So does one queued into
   * an empty queue, past the front: a queue that keeps up then uses only its
   * first pages, and the rest of it never becomes resident.
   */
  int wrap = to_end < need || (at >= need && head == atomic_load_explicit(&r->tail, memory_order_acquire));
  if (!wait_for_room(r, head, (wrap ? to_end : 0) + need)) return 0;
  if (wrap) {
    *(uint32_t *)(r->queue + at) = WRAP;
    head += to_end;
    at = 0;
  }
  *(uint32_t *)(r->queue + at) = length;
  memcpy(r->queue + at + 4, bytes, length);
  atomic_store_explicit(&r->head, head + need, memory_order_release);
  return 1;
}

static void report(receiver *r, int error) {
  atomic_store(&r->error, error);
  uv_async_send(&r->wake);
}

/* The reading thread's loop: every datagram the socket has, into the queue, until told to stop. */
static void *read_loop(void *data) {
  receiver *r = data;
  struct pollfd fds[2] = {{.fd = r->fd, .events = POLLIN}, {.fd = r->stop_fd, .events = POLLIN}};
  while (!atomic_load(&r->stopping)) {
    int count = recvmmsg(r->fd, r->stage_messages, r->slots, MSG_DONTWAIT, NULL);
    if (count < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) report(r, errno);
      /* Nothing to read: sleep until there is, or until told to stop. */
      if (poll(fds, 2, -1) < 0 && errno != EINTR) report(r, errno);
      continue;
    }
    for (int i = 0; i < count; i++) {
      if (!enqueue(r, r->stage + i * r->slot_bytes, r->stage_messages[i].msg_len)) return NULL;
    }
    uv_async_send(&r->wake);
  }
  return NULL;
}

/* The environment's thread: moves up to a batch of queued datagrams into the slots; how many. */
static int dequeue(receiver *r) {
  size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
  size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
  int count = 0;
  while ((unsigned int)count < r->slots && tail != head) {
    size_t at = tail % r->queue_bytes;
    uint32_t length = *(uint32_t *)(r->queue + at);
    if (length == WRAP) {
      tail += r->queue_bytes - at;
      continue;
    }
    memcpy(r->data + count * r->slot_bytes, r->queue + at + 4, length);
    r->length_out[count++] = length;
    tail += record_bytes(length);
  }
  atomic_store_explicit(&r->tail, tail, memory_order_release);
  pthread_mutex_lock(&r->lock);
  if (r->writer_waiting) pthread_cond_signal(&r->room);
  pthread_mutex_unlock(&r->lock);
  return count;
}

static void on_wake(uv_async_t *wake) {
  receiver *r = wake->data;
  int error = atomic_exchange(&r->error, 0);
  if (error != 0) deliver(r, -error);
  for (int batch = 0; batch < BATCHES_PER_WAKE; batch++) {
    /* onBatch may have closed the socket. */
    if (r->shut) return;
    int count = dequeue(r);
    if (count == 0) return;
    deliver(r, count);
  }
  /* More may be queued: after the event loop has gone round. */
  if (!r->shut) uv_async_send(&r->wake);
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
  r->stop_fd = -1;
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

/* Makes the queue, the reading thread's slots and the wake handle, and starts the thread; an errno on failure. */
static int start_queue(receiver *r, uv_loop_t *loop, size_t queue_bytes) {
  r->queue_bytes = queue_bytes & ~(size_t)3;
  r->queue = malloc(r->queue_bytes);
  r->stage = malloc(r->slots * r->slot_bytes);
  r->stage_messages = calloc(r->slots, sizeof *r->stage_messages);
  r->stage_vectors = calloc(r->slots, sizeof *r->stage_vectors);
  if (r->queue == NULL || r->stage == NULL || r->stage_messages == NULL || r->stage_vectors == NULL) return ENOMEM;
  for (size_t i = 0; i < r->slots; i++) {
    r->stage_vectors[i].iov_base = r->stage + i * r->slot_bytes;
    r->stage_vectors[i].iov_len = r->slot_bytes;
    r->stage_messages[i].msg_hdr.msg_iov = &r->stage_vectors[i];
    r->stage_messages[i].msg_hdr.msg_iovlen = 1;
  }
  r->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (r->stop_fd < 0) return errno;
  int error = uv_async_init(loop, &r->wake, on_wake);
  if (error != 0) return -error;
  r->wake.data = r;
  pthread_mutex_init(&r->lock, NULL);
  pthread_cond_init(&r->room, NULL);
  error = pthread_create(&r->thread, NULL, read_loop, r);
  if (error != 0) {
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->room);
    /* The wake handle is initialized: shut() must close it through libuv. */
    r->handle_closing = 1;
    r->shut = 1;
    uv_close((uv_handle_t *)&r->wake, on_handle_closed);
    return error;
  }
  r->queued = 1;
  return 0;
}

/*
 * start(receiver, buffer, lengths, onBatch, queueBytes): `buffer` (a
 * Uint8Array) is cut into lengths.length slots of equal size; up to that many
 * datagrams at a time are put into the slots, their sizes into `lengths`, and
 * onBatch(count) is called; a negative count is -errno. With queueBytes 0,
 * the socket is read each time it is readable; above 0, a thread reads it
 * into a queue of that many bytes (room for two datagrams of a slot's size
 * at least) and this thread takes batches from the queue.
 */
static napi_value js_start(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  receiver *r = receiver_call(env, info, 5, argv);
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
  double queue_bytes;
  CHECK(napi_get_value_double(env, argv[4], &queue_bytes));
  if (!(queue_bytes == 0 || (queue_bytes >= 2.0 * record_bytes(length / slots) && queue_bytes <= 1099511627776.0))) {
    return throw_errno(env, EINVAL, "start: queueBytes must be 0 or hold two of the largest datagrams a slot takes");
  }
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
  if (queue_bytes > 0) {
    int failed = start_queue(r, loop, (size_t)queue_bytes);
    return failed == 0 ? NULL : throw_errno(env, failed, "start: the reading thread");
  }
  int error = uv_poll_init_socket(loop, &r->poll, r->fd);
  if (error != 0) return throw_errno(env, -error, "uv_poll_init_socket");
  r->poll.data = r;
  r->polling = 1;
  error = uv_poll_start(&r->poll, UV_READABLE, on_readable);
  if (error != 0) return throw_errno(env, -error, "uv_poll_start");
  return NULL;
}

/* queued(receiver) → bytes waiting in the queue, records' lengths and padding included; 0 without a queue. */
static napi_value js_queued(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  receiver *r = receiver_call(env, info, 1, argv);
  if (r == NULL) return NULL;
  size_t bytes = 0;
  if (r->queued && !r->shut) {
    /* tail first: head only grows, so it is read no older than tail and the difference cannot wrap. */
    size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    bytes = atomic_load_explicit(&r->head, memory_order_acquire) - tail;
  }
  napi_value result;
  CHECK(napi_create_double(env, (double)bytes, &result));
  return result;
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
      {"queued", NULL, js_queued, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof properties / sizeof *properties, properties) != napi_ok) return NULL;
  return exports;
}
