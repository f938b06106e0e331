/*
 * strait_netlink: a bounded netlink request primitive (RFC 3549 transport;
 * NETLINK_ROUTE and NETLINK_XFRM). It moves bytes and nothing else: every
 * message is encoded and decoded in TypeScript (src/platform/linux/netlink),
 * so this file holds no knowledge of XFRM or rtnetlink structures.
 *
 * Why an addon: Node has no AF_NETLINK sockets, and each `ip` process the
 * backend would otherwise spawn costs ~120 ms in the UML lab; a netlink
 * round trip costs microseconds. Key material travels only in the request
 * buffer handed to the kernel (never argv, env or a file).
 *
 * exports.open(protocol: number) -> number (fd)
 *   protocol must be NETLINK_ROUTE (0) or NETLINK_XFRM (6).
 * exports.request(fd: number, message: Buffer, timeoutMs: number) -> Buffer[]
 *   sends one netlink message (nlmsghdr first, nlmsg_len == message length)
 *   and returns every reply message carrying the same sequence number, up to
 *   and including the first NLMSG_ERROR (an ack or an error) or NLMSG_DONE
 *   (end of a dump). Replies with another sequence number (late answers to a
 *   request that timed out) are dropped. Never blocks longer than timeoutMs
 *   in total; bounded in message count and bytes.
 * exports.close(fd: number) -> undefined
 *
 * request() and close() accept only a descriptor open() returned (and has
 * not closed): a caller's number is not a capability.
 *
 * Failures throw an Error whose code is the errno name of the failing
 * system call (ETIMEDOUT when the kernel did not finish in time, EMSGSIZE
 * when a reply exceeded the bounds). A kernel *refusal* is not thrown: it
 * arrives as an NLMSG_ERROR reply, decoded by the caller.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <node_api.h>

#ifndef NETLINK_XFRM
#define NETLINK_XFRM 6
#endif

/* One datagram: the kernel sizes dump chunks to the reader's buffer, at most 32 KiB (NLMSG_GOODSIZE-ish) by default. */
#define RECV_BUF (64 * 1024)
#define MAX_REQUEST (64 * 1024)
#define MAX_REPLY_MESSAGES 65536
#define MAX_REPLY_BYTES (32 * 1024 * 1024)
#define MAX_TIMEOUT_MS 60000

static const char *errno_name(int err) {
  switch (err) {
    case EINVAL: return "EINVAL";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case EBADF: return "EBADF";
    case ENOBUFS: return "ENOBUFS";
    case ENOMEM: return "ENOMEM";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EMSGSIZE: return "EMSGSIZE";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EINTR: return "EINTR";
    case EPROTO: return "EPROTO";
    default: return "EIO";
  }
}

static napi_value throw_errno(napi_env env, int err, const char *what) {
  char msg[200];
  snprintf(msg, sizeof msg, "netlink %s: %s", what, strerror(err));
  napi_throw_error(env, errno_name(err), msg);
  return NULL;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The sockets nl_open made, so that request() checks a caller's number
 * without a system call per request (each one costs ~45 µs in the UML lab).
 * The backend holds two at most; MAX_OPEN bounds a misbehaving caller.
 */
#define MAX_OPEN 16
static int open_fds[MAX_OPEN];
static int open_count = 0;

static int is_ours(int fd) {
  for (int i = 0; i < open_count; i++)
    if (open_fds[i] == fd) return 1;
  return 0;
}

static void forget(int fd) {
  for (int i = 0; i < open_count; i++) {
    if (open_fds[i] == fd) {
      open_fds[i] = open_fds[--open_count];
      return;
    }
  }
}

static napi_value nl_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint32_t protocol = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1) return throw_errno(env, EINVAL, "open(protocol)");
  if (napi_get_value_uint32(env, argv[0], &protocol) != napi_ok) return throw_errno(env, EINVAL, "open(protocol)");
  if (protocol != NETLINK_ROUTE && protocol != NETLINK_XFRM) return throw_errno(env, EPROTONOSUPPORT, "open: only NETLINK_ROUTE and NETLINK_XFRM");
  if (open_count >= MAX_OPEN) return throw_errno(env, EMFILE, "open: too many netlink sockets");
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, (int)protocol);
  if (fd < 0) return throw_errno(env, errno, "socket");
  struct sockaddr_nl local;
  memset(&local, 0, sizeof local);
  local.nl_family = AF_NETLINK; /* nl_pid 0: the kernel assigns the port id */
  if (bind(fd, (struct sockaddr *)&local, sizeof local) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "bind");
  }
  /* Extended acks would append attributes to errors; the caller reads only the errno. */
  open_fds[open_count++] = fd;
  napi_value out;
  napi_create_int32(env, fd, &out);
  return out;
}

static napi_value nl_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    return throw_errno(env, EINVAL, "close(fd)");
  }
  if (!is_ours(fd)) return throw_errno(env, EBADF, "close: not a socket this addon opened");
  forget(fd);
  close(fd);
  return NULL;
}

static napi_value nl_request(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd = -1;
  uint32_t timeout = 0;
  void *data = NULL;
  size_t len = 0;
  bool isBuffer = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3) return throw_errno(env, EINVAL, "request(fd, message, timeoutMs)");
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0 || !is_ours(fd)) return throw_errno(env, EBADF, "request: not a netlink socket this addon opened");
  if (napi_is_buffer(env, argv[1], &isBuffer) != napi_ok || !isBuffer || napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok) {
    return throw_errno(env, EINVAL, "request: message must be a Buffer");
  }
  if (napi_get_value_uint32(env, argv[2], &timeout) != napi_ok || timeout == 0 || timeout > MAX_TIMEOUT_MS) return throw_errno(env, EINVAL, "request: timeoutMs must be 1..60000");
  if (len < sizeof(struct nlmsghdr) || len > MAX_REQUEST) return throw_errno(env, EMSGSIZE, "request: message size");
  struct nlmsghdr hdr;
  memcpy(&hdr, data, sizeof hdr);
  if (hdr.nlmsg_len != len) return throw_errno(env, EINVAL, "request: nlmsg_len differs from the buffer length");
  const uint32_t seq = hdr.nlmsg_seq;

  struct sockaddr_nl kernel;
  memset(&kernel, 0, sizeof kernel);
  kernel.nl_family = AF_NETLINK;
  ssize_t sent;
  do {
    sent = sendto(fd, data, len, 0, (struct sockaddr *)&kernel, sizeof kernel);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) return throw_errno(env, errno, "sendto");
  if ((size_t)sent != len) return throw_errno(env, EMSGSIZE, "sendto: short write");

  napi_value list;
  napi_create_array(env, &list);
  uint32_t count = 0;
  size_t total = 0;
  /* The clock is read only once the kernel has made us wait: it answers most
     requests inside sendto (the ack is queued before sendto returns) and
     fills a dump's next chunk inside recv, so a read usually needs no poll. */
  int64_t deadline = -1;
  /* 8-byte aligned so the nlmsghdr casts below are well-defined. */
  static uint64_t storage[RECV_BUF / sizeof(uint64_t)];
  char *buf = (char *)storage;
  bool wait = false;
  for (;;) {
    if (wait) {
      if (deadline < 0) deadline = now_ms() + timeout;
      int64_t left = deadline - now_ms();
      if (left <= 0) return throw_errno(env, ETIMEDOUT, "no complete answer from the kernel in time");
      struct pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};
      int pr = poll(&p, 1, (int)left);
      if (pr < 0) {
        if (errno == EINTR) continue;
        return throw_errno(env, errno, "poll");
      }
      if (pr == 0) return throw_errno(env, ETIMEDOUT, "no complete answer from the kernel in time");
      wait = false;
    }
    ssize_t n = recv(fd, buf, RECV_BUF, MSG_TRUNC | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) wait = true;
      else if (errno != EINTR) return throw_errno(env, errno, "recv");
      continue;
    }
    if ((size_t)n > RECV_BUF) return throw_errno(env, EMSGSIZE, "a reply datagram is larger than the receive buffer");
    int rest = (int)n;
    bool finished = false;
    for (struct nlmsghdr *m = (struct nlmsghdr *)buf; NLMSG_OK(m, rest); m = NLMSG_NEXT(m, rest)) {
      if (m->nlmsg_seq != seq) continue; /* a late answer to an earlier request */
      if (count >= MAX_REPLY_MESSAGES || total + m->nlmsg_len > MAX_REPLY_BYTES) return throw_errno(env, EMSGSIZE, "the reply exceeds the bounds");
      napi_value copy;
      void *dst = NULL;
      if (napi_create_buffer_copy(env, m->nlmsg_len, m, &dst, &copy) != napi_ok) return throw_errno(env, ENOMEM, "buffer");
      napi_set_element(env, list, count++, copy);
      total += m->nlmsg_len;
      if (m->nlmsg_type == NLMSG_ERROR || m->nlmsg_type == NLMSG_DONE) {
        finished = true;
        break;
      }
    }
    if (finished) return list;
  }
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, nl_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"request", NULL, nl_request, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, nl_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
