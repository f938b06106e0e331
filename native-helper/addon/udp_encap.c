/*
 * strait_udp_encap: the one socket option Node's dgram cannot set.
 *
 * RFC 3948 ESP-in-UDP is decapsulated by the Linux kernel only on a UDP
 * socket with setsockopt(SOL_UDP, UDP_ENCAP, UDP_ENCAP_ESPINUDP): ESP
 * packets (non-zero SPI) reaching that socket go to XFRM, NAT-keepalives
 * (one 0xFF octet) are eaten, and IKE (the four-zero-octet non-ESP marker)
 * is still delivered to the socket's owner (net/ipv4/xfrm4_input.c,
 * net/ipv6/xfrm6_input.c).
 *
 * The socket is Node's own dgram socket, found by what it is bound to:
 * we walk this process's descriptors and pick the UDP socket whose local
 * address and port equal the ones given. The driver binds with
 * `exclusive: true` and no SO_REUSEPORT, so at most one socket matches.
 * That avoids Node's deprecated Socket#_handle (DEP0112).
 *
 * Plain N-API (node_api.h), no C++ and no node-gyp: build.mjs compiles it
 * with the system C compiler against the headers of the Node that runs it.
 *
 * exports.enable(address: string, port: number) -> number  (the fd it set)
 *   throws Error with code ENOENT (no such socket) or the errno name of
 *   the failing system call.
 * exports.query(address: string, port: number) -> number   (UDP_ENCAP value)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <node_api.h>

#ifndef UDP_ENCAP
#define UDP_ENCAP 100
#endif
#ifndef UDP_ENCAP_ESPINUDP
#define UDP_ENCAP_ESPINUDP 2
#endif

static napi_value throw_errno(napi_env env, int err, const char *what) {
  const char *name = err == ENOENT ? "ENOENT" : err == EPERM ? "EPERM" : err == ENOPROTOOPT ? "ENOPROTOOPT" : err == EINVAL ? "EINVAL" : "EIO";
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, name, msg);
  return NULL;
}

/* Parses (address: string, port: number) into a sockaddr. 0 or an errno. */
static int parse_args(napi_env env, napi_callback_info info, struct sockaddr_storage *want, socklen_t *len) {
  size_t argc = 2;
  napi_value argv[2];
  char text[64];
  size_t textLen = 0;
  uint32_t port = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2) return EINVAL;
  if (napi_get_value_string_utf8(env, argv[0], text, sizeof text, &textLen) != napi_ok || textLen == 0 || textLen >= sizeof text - 1) return EINVAL;
  if (napi_get_value_uint32(env, argv[1], &port) != napi_ok || port == 0 || port > 65535) return EINVAL;
  memset(want, 0, sizeof *want);
  struct sockaddr_in *v4 = (struct sockaddr_in *)want;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)want;
  if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    *len = sizeof *v4;
    return 0;
  }
  if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    *len = sizeof *v6;
    return 0;
  }
  return EINVAL;
}

static int same_endpoint(const struct sockaddr_storage *a, const struct sockaddr_storage *b) {
  if (a->ss_family != b->ss_family) return 0;
  if (a->ss_family == AF_INET) {
    const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
  return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
}

/* Whether `fd` is a UDP socket bound to `want`. The bound address first: one
   system call rules out any other descriptor (a non-socket fails with
   ENOTSOCK), and each call costs ~45-90 µs in the UML lab. SO_PROTOCOL ==
   IPPROTO_UDP implies SOCK_DGRAM, so the type needs no call of its own. */
static int is_udp_socket_bound_to(int fd, const struct sockaddr_storage *want) {
  struct sockaddr_storage have;
  socklen_t hl = sizeof have;
  memset(&have, 0, sizeof have);
  if (getsockname(fd, (struct sockaddr *)&have, &hl) != 0 || !same_endpoint(&have, want)) return 0;
  int proto = 0;
  socklen_t l = sizeof proto;
  return getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &l) == 0 && proto == IPPROTO_UDP;
}

/* The descriptor the last search found: a daemon that closes its IKE sockets
   and opens new ones for the next connection gets the same (lowest free)
   numbers back, so the next search usually ends at its first check instead
   of asking every open descriptor. Only a hint: it is checked like any other. */
static int last_found = -1;

/* The descriptor of this process's UDP socket bound to `want`, or -1 (errno set). */
static int find_socket(const struct sockaddr_storage *want) {
  if (last_found >= 0 && is_udp_socket_bound_to(last_found, want)) return last_found;
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL) return -1;
  int found = -1;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    char *end = NULL;
    long fd = strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd < 0 || fd == dirfd(d) || fd == last_found) continue;
    if (!is_udp_socket_bound_to((int)fd, want)) continue;
    found = (int)fd;
    break;
  }
  closedir(d);
  if (found < 0) {
    errno = ENOENT;
    return -1;
  }
  last_found = found;
  return found;
}

static napi_value enable(napi_env env, napi_callback_info info) {
  struct sockaddr_storage want;
  socklen_t len;
  int err = parse_args(env, info, &want, &len);
  if (err != 0) return throw_errno(env, err, "enable(address, port)");
  int fd = find_socket(&want);
  if (fd < 0) return throw_errno(env, errno, "no UDP socket of this process is bound to that address and port");
  int type = UDP_ENCAP_ESPINUDP;
  if (setsockopt(fd, IPPROTO_UDP, UDP_ENCAP, &type, sizeof type) != 0) return throw_errno(env, errno, "setsockopt(UDP_ENCAP)");
  napi_value out;
  napi_create_int32(env, fd, &out);
  return out;
}

static napi_value query(napi_env env, napi_callback_info info) {
  struct sockaddr_storage want;
  socklen_t len;
  int err = parse_args(env, info, &want, &len);
  if (err != 0) return throw_errno(env, err, "query(address, port)");
  int fd = find_socket(&want);
  if (fd < 0) return throw_errno(env, errno, "no UDP socket of this process is bound to that address and port");
  int type = 0;
  socklen_t l = sizeof type;
  if (getsockopt(fd, IPPROTO_UDP, UDP_ENCAP, &type, &l) != 0) return throw_errno(env, errno, "getsockopt(UDP_ENCAP)");
  napi_value out;
  napi_create_int32(env, type, &out);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"enable", NULL, enable, NULL, NULL, NULL, napi_enumerable, NULL},
      {"query", NULL, query, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
