/*
 * culvert data-plane addon: TUN/TAP devices, a UDP socket and a raw IPv4 socket
 * (GRE, protocol 47), read in batches on readiness (uv_poll) and written in
 * batches (sendmmsg / one write() per TUN packet).
 *
 * Shape of a channel ("chan"):
 *  - rx: a JS-owned ArrayBuffer split into `batch` slots of `slot` bytes. Packet i
 *    lands at i*slot + headroom, so TypeScript can prepend an encapsulation header
 *    in place and send straight from the rx buffer. Per-packet metadata goes into a
 *    JS-owned Uint32Array, 4 words a packet: offset, length, IPv4 address, port.
 *    One call into JS per batch: onBatch(count), or onBatch(-errno) once when the
 *    fd failed for good (e.g. its TUN device was deleted); the channel then stops
 *    reading but stays open until closed.
 *  - tx: send(buf, meta, count) uses the same 4-word metadata. What the kernel
 *    does not take now (EAGAIN) is copied into a bounded ring and flushed on
 *    UV_WRITABLE; when the ring is full the packet is dropped and counted.
 *
 * Every handle is closed by close() or, at the latest, by an async env cleanup
 * hook (napi_add_async_cleanup_hook), so a worker thread can exit with channels
 * still open. The hook is released only from the uv_close callback: Node unloads
 * the addon after the hooks finish, and a close callback that runs after that
 * would jump into unmapped code.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_tun.h>

#include <node_api.h>
#include <uv.h>

#define MAX_BATCH 64
#define META_WORDS 4
enum { KIND_TUN = 0, KIND_UDP = 1, KIND_RAW = 2 };

enum {
  ST_RX_PKTS, ST_RX_BYTES, ST_RX_TRUNC, ST_RX_ERR, ST_TX_PKTS, ST_TX_BYTES,
  ST_TX_DROP, ST_TX_ERR, ST_TX_QUEUED, ST_QLEN, ST_WAKEUPS, ST_COUNT
};

typedef struct chan {
  napi_env env;
  uv_poll_t poll;
  int fd;
  int kind;
  int closing;
  int dead;        /* fd failed for good: no more polling */
  int reading;     /* JS wants readable events */
  int polling;     /* current uv_poll event mask */
  napi_ref cb, rxbuf_ref, rxmeta_ref;
  napi_async_context actx;
  napi_async_cleanup_hook_handle ach;
  uint8_t *rx;
  uint32_t *rxmeta;
  uint32_t slot, headroom, batch;
  /* tx ring */
  uint8_t *q;
  uint32_t *qmeta; /* per slot: length, addr, port */
  uint32_t qcap, qhead, qlen;
  double st[ST_COUNT];
  struct mmsghdr mm[MAX_BATCH];
  struct iovec iov[MAX_BATCH];
  struct sockaddr_in sa[MAX_BATCH];
} chan;

/* ---------- helpers ---------- */

static const char *err_code(int e) {
  if (e == EPERM || e == EACCES) return "IO_ERR_NO_CAPABILITY";
  if (e == EBUSY || e == EADDRINUSE) return "IO_ERR_BUSY";
  if (e == ENOENT || e == ENODEV) return "IO_ERR_NO_DEVICE";
  return "IO_ERR_SYSCALL";
}

static napi_value throw_errno(napi_env env, const char *what, int e) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s (errno %d)", what, strerror(e), e);
  napi_throw_error(env, err_code(e), msg);
  return NULL;
}

#define NAPI_OK(call)                                                     \
  do {                                                                    \
    if ((call) != napi_ok) {                                              \
      bool pending_ = false;                                              \
      napi_is_exception_pending(env, &pending_);                          \
      if (!pending_) napi_throw_error(env, "IO_ERR_NAPI", #call " failed"); \
      return NULL;                                                        \
    }                                                                     \
  } while (0)

static int arg_u32(napi_env env, napi_value v, uint32_t *out) {
  return napi_get_value_uint32(env, v, out) == napi_ok;
}

static napi_value mk_u32(napi_env env, uint32_t x) {
  napi_value v;
  napi_create_uint32(env, x, &v);
  return v;
}

static napi_value mk_i32(napi_env env, int32_t x) {
  napi_value v;
  napi_create_int32(env, x, &v);
  return v;
}

static int get_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  bool is;
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type t;
    size_t n, off;
    void *d;
    napi_value ab;
    if (napi_get_typedarray_info(env, v, &t, &n, &d, &ab, &off) != napi_ok) return 0;
    size_t el = (t == napi_uint32_array || t == napi_int32_array || t == napi_float32_array) ? 4
              : (t == napi_uint16_array || t == napi_int16_array) ? 2
              : (t == napi_float64_array || t == napi_bigint64_array || t == napi_biguint64_array) ? 8 : 1;
    *data = d;
    *len = n * el;
    return 1;
  }
  if (napi_is_arraybuffer(env, v, &is) == napi_ok && is) {
    void *d;
    if (napi_get_arraybuffer_info(env, v, &d, len) != napi_ok) return 0;
    *data = d;
    return 1;
  }
  return 0;
}

static chan *get_chan(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, "IO_ERR_BAD_HANDLE", "not a channel handle");
    return NULL;
  }
  chan *c = p;
  if (c->closing) {
    napi_throw_error(env, "IO_ERR_CLOSED", "channel is closed");
    return NULL;
  }
  return c;
}

static int sock_opts(napi_env env, int fd, uint32_t mark, const char *dev, uint32_t sndbuf) {
  if (mark != 0 && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0) {
    throw_errno(env, "setsockopt(SO_MARK) (needs CAP_NET_ADMIN)", errno);
    return 0;
  }
  if (dev && dev[0] && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, (socklen_t)strlen(dev)) < 0) {
    throw_errno(env, "setsockopt(SO_BINDTODEVICE)", errno);
    return 0;
  }
  /* Bigger buffers absorb bursts of a 64-packet batch; best effort. */
  int sz = 4 << 20, snd = sndbuf ? (int)sndbuf : sz;
  (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
  (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof snd);
  return 1;
}

/* ---------- fd openers ---------- */

/* tunOpen(name, tap) -> [fd, actualName] */
static napi_value tun_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char name[IFNAMSIZ] = {0};
  size_t nl = 0;
  if (argc < 2 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &nl) != napi_ok) {
    napi_throw_type_error(env, "IO_ERR_BAD_ARG", "tunOpen(name: string, tap: boolean)");
    return NULL;
  }
  bool tap = false;
  NAPI_OK(napi_get_value_bool(env, argv[1], &tap));
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, "open(/dev/net/tun) (needs CAP_NET_ADMIN)", errno);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = (short)((tap ? IFF_TAP : IFF_TUN) | IFF_NO_PI);
  memcpy(ifr.ifr_name, name, nl < IFNAMSIZ - 1 ? nl : IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, "ioctl(TUNSETIFF) (needs CAP_NET_ADMIN)", e);
  }
  napi_value arr, s;
  NAPI_OK(napi_create_array_with_length(env, 2, &arr));
  NAPI_OK(napi_create_string_utf8(env, ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ), &s));
  NAPI_OK(napi_set_element(env, arr, 0, mk_i32(env, fd)));
  NAPI_OK(napi_set_element(env, arr, 1, s));
  return arr;
}

/* sockOpen(kind: 1 udp | 2 raw, addr: u32, port|proto: u32, mark: u32, dev: string, sndbuf: u32)
 *   -> [fd, boundPort] */
static napi_value sock_open(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t kind, addr, port, mark, sndbuf;
  char dev[IFNAMSIZ] = {0};
  if (argc < 6 || !arg_u32(env, argv[5], &sndbuf) || !arg_u32(env, argv[0], &kind) || !arg_u32(env, argv[1], &addr) ||
      !arg_u32(env, argv[2], &port) || !arg_u32(env, argv[3], &mark) ||
      napi_get_value_string_utf8(env, argv[4], dev, sizeof dev, NULL) != napi_ok ||
      (kind != KIND_UDP && kind != KIND_RAW) || (kind == KIND_UDP && port > 65535) ||
      (kind == KIND_RAW && port > 255)) {
    napi_throw_type_error(env, "IO_ERR_BAD_ARG", "sockOpen(kind, addr, port|proto, mark, dev)");
    return NULL;
  }
  int fd = kind == KIND_UDP ? socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP)
                            : socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, (int)port);
  if (fd < 0) return throw_errno(env, kind == KIND_RAW ? "socket(SOCK_RAW) (needs CAP_NET_RAW)" : "socket(UDP)", errno);
  if (!sock_opts(env, fd, mark, dev, sndbuf)) {
    close(fd);
    return NULL;
  }
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(addr);
  sa.sin_port = kind == KIND_UDP ? htons((uint16_t)port) : 0;
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, "bind", e);
  }
  socklen_t sl = sizeof sa;
  if (getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, "getsockname", e);
  }
  napi_value arr;
  NAPI_OK(napi_create_array_with_length(env, 2, &arr));
  NAPI_OK(napi_set_element(env, arr, 0, mk_i32(env, fd)));
  NAPI_OK(napi_set_element(env, arr, 1, mk_u32(env, kind == KIND_UDP ? ntohs(sa.sin_port) : 0)));
  return arr;
}

/* ---------- channel core ---------- */

static void on_poll(uv_poll_t *h, int status, int events);

static void set_poll(chan *c) {
  if (c->closing || c->dead) return;
  int want = (c->reading ? UV_READABLE : 0) | (c->qlen ? UV_WRITABLE : 0);
  if (want == c->polling) return;
  int r = want ? uv_poll_start(&c->poll, want, on_poll) : uv_poll_stop(&c->poll);
  if (r == 0) c->polling = want;
}

static int is_transient(int e) {
  return e == EAGAIN || e == EWOULDBLOCK || e == EINTR;
}

/* Errors after which the fd is useless (TUN device deleted, socket torn down). */
static int is_fatal(int e) {
  return e == EBADFD || e == EBADF || e == EIO || e == ENODEV || e == ENXIO || e == EFAULT || e == ENOTSOCK;
}

/* Try to push packets [0,n) described by (data,len,addr,port) arrays; returns how
 * many were consumed (sent or dropped for a non-transient error). Stops at EAGAIN. */
static uint32_t push_out(chan *c, uint8_t *const *data, const uint32_t *len, const uint32_t *addr,
                         const uint32_t *port, uint32_t n, int *fatal) {
  uint32_t i = 0;
  if (c->kind == KIND_TUN) {
    while (i < n) {
      ssize_t w = write(c->fd, data[i], len[i]);
      if (w >= 0) {
        c->st[ST_TX_PKTS]++;
        c->st[ST_TX_BYTES] += (double)len[i];
        i++;
        continue;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (is_fatal(errno)) *fatal = errno;
      c->st[ST_TX_ERR]++;
      i++;
    }
    return i;
  }
  while (i < n) {
    uint32_t m = n - i > MAX_BATCH ? MAX_BATCH : n - i;
    for (uint32_t k = 0; k < m; k++) {
      struct sockaddr_in *sa = &c->sa[k];
      sa->sin_family = AF_INET;
      sa->sin_addr.s_addr = htonl(addr[i + k]);
      sa->sin_port = c->kind == KIND_UDP ? htons((uint16_t)port[i + k]) : 0;
      c->iov[k].iov_base = data[i + k];
      c->iov[k].iov_len = len[i + k];
      memset(&c->mm[k], 0, sizeof c->mm[k]);
      c->mm[k].msg_hdr.msg_name = sa;
      c->mm[k].msg_hdr.msg_namelen = sizeof *sa;
      c->mm[k].msg_hdr.msg_iov = &c->iov[k];
      c->mm[k].msg_hdr.msg_iovlen = 1;
    }
    int r = sendmmsg(c->fd, c->mm, m, MSG_DONTWAIT);
    if (r > 0) {
      for (int k = 0; k < r; k++) c->st[ST_TX_BYTES] += (double)len[i + k];
      c->st[ST_TX_PKTS] += r;
      i += (uint32_t)r;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    /* The first packet of this run failed for good (EMSGSIZE, ENETUNREACH,
     * ECONNREFUSED from an earlier ICMP, ...): drop it and go on. */
    if (r < 0 && is_fatal(errno)) *fatal = errno;
    c->st[ST_TX_ERR]++;
    i++;
  }
  return i;
}

static void enqueue(chan *c, const uint8_t *p, uint32_t len, uint32_t addr, uint32_t port) {
  if (c->qlen >= c->qcap || len > c->slot) {
    c->st[ST_TX_DROP]++;
    return;
  }
  if (!c->q) {
    /* Allocated on the first push-back only: most channels (every TUN) never need it. */
    c->q = malloc((size_t)c->qcap * c->slot);
    c->qmeta = malloc((size_t)c->qcap * 3 * sizeof(uint32_t));
    if (!c->q || !c->qmeta) {
      free(c->q);
      free(c->qmeta);
      c->q = NULL;
      c->qmeta = NULL;
      c->st[ST_TX_DROP]++;
      return;
    }
  }
  uint32_t idx = (c->qhead + c->qlen) % c->qcap;
  memcpy(c->q + (size_t)idx * c->slot, p, len);
  c->qmeta[idx * 3] = len;
  c->qmeta[idx * 3 + 1] = addr;
  c->qmeta[idx * 3 + 2] = port;
  c->qlen++;
  c->st[ST_TX_QUEUED]++;
}

static void flush_queue(chan *c, int *fatal) {
  uint8_t *data[MAX_BATCH];
  uint32_t len[MAX_BATCH], addr[MAX_BATCH], port[MAX_BATCH];
  while (c->qlen) {
    uint32_t m = 0;
    while (m < c->qlen && m < MAX_BATCH) {
      uint32_t idx = (c->qhead + m) % c->qcap;
      data[m] = c->q + (size_t)idx * c->slot;
      len[m] = c->qmeta[idx * 3];
      addr[m] = c->qmeta[idx * 3 + 1];
      port[m] = c->qmeta[idx * 3 + 2];
      m++;
    }
    uint32_t done = push_out(c, data, len, addr, port, m, fatal);
    c->qhead = (c->qhead + done) % c->qcap;
    c->qlen -= done;
    if (done < m) break;
  }
}

static void call_js(chan *c, int32_t arg) {
  napi_env env = c->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, global, argv[1], result;
  if (napi_get_reference_value(env, c->cb, &cb) == napi_ok && cb != NULL &&
      napi_get_global(env, &global) == napi_ok && napi_create_int32(env, arg, &argv[0]) == napi_ok) {
    /* Receiver must be a real object: with `undefined` the call silently fails. */
    napi_status s = napi_make_callback(env, c->actx, global, cb, 1, argv, &result);
    if (s == napi_pending_exception) {
      napi_value err;
      if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
    }
  }
  napi_close_handle_scope(env, scope);
}

static void go_dead(chan *c, int e) {
  if (c->dead) return;
  c->dead = 1;
  uv_poll_stop(&c->poll);
  c->polling = 0;
  c->st[ST_TX_DROP] += c->qlen;
  c->qlen = 0;
  call_js(c, -e);
}

static uint32_t read_batch(chan *c, int *fatal) {
  uint32_t n = 0;
  uint32_t cap = c->slot - c->headroom;
  if (c->kind == KIND_TUN) {
    while (n < c->batch) {
      uint32_t off = n * c->slot + c->headroom;
      ssize_t r = read(c->fd, c->rx + off, cap);
      if (r < 0) {
        if (errno == EINTR) continue;
        if (!is_transient(errno)) {
          c->st[ST_RX_ERR]++;
          if (is_fatal(errno)) *fatal = errno;
        }
        break;
      }
      if (r == 0) continue;
      c->rxmeta[n * META_WORDS] = off;
      c->rxmeta[n * META_WORDS + 1] = (uint32_t)r;
      c->rxmeta[n * META_WORDS + 2] = 0;
      c->rxmeta[n * META_WORDS + 3] = 0;
      c->st[ST_RX_BYTES] += (double)r;
      n++;
    }
    c->st[ST_RX_PKTS] += n;
    return n;
  }
  for (uint32_t k = 0; k < c->batch; k++) {
    c->iov[k].iov_base = c->rx + k * c->slot + c->headroom;
    c->iov[k].iov_len = cap;
    memset(&c->mm[k], 0, sizeof c->mm[k]);
    c->mm[k].msg_hdr.msg_name = &c->sa[k];
    c->mm[k].msg_hdr.msg_namelen = sizeof c->sa[k];
    c->mm[k].msg_hdr.msg_iov = &c->iov[k];
    c->mm[k].msg_hdr.msg_iovlen = 1;
  }
  int r;
  do {
    r = recvmmsg(c->fd, c->mm, c->batch, MSG_DONTWAIT, NULL);
  } while (r < 0 && errno == EINTR);
  if (r < 0) {
    if (!is_transient(errno)) {
      /* ECONNREFUSED and friends are per-datagram ICMP reports, not fatal. */
      c->st[ST_RX_ERR]++;
      if (is_fatal(errno)) *fatal = errno;
    }
    return 0;
  }
  for (int k = 0; k < r; k++) {
    if (c->mm[k].msg_hdr.msg_flags & MSG_TRUNC) {
      c->st[ST_RX_TRUNC]++;
      continue;
    }
    uint32_t len = c->mm[k].msg_len;
    c->rxmeta[n * META_WORDS] = (uint32_t)(k * c->slot + c->headroom);
    c->rxmeta[n * META_WORDS + 1] = len;
    c->rxmeta[n * META_WORDS + 2] = ntohl(c->sa[k].sin_addr.s_addr);
    c->rxmeta[n * META_WORDS + 3] = ntohs(c->sa[k].sin_port);
    c->st[ST_RX_BYTES] += (double)len;
    n++;
  }
  c->st[ST_RX_PKTS] += n;
  return n;
}

static void on_poll(uv_poll_t *h, int status, int events) {
  chan *c = h->data;
  if (c->closing || c->dead) return;
  c->st[ST_WAKEUPS]++;
  int fatal = 0;
  if (status < 0) {
    /* EBADF from epoll etc.: read once to learn the real error. */
    events = UV_READABLE;
  }
  if ((events & UV_WRITABLE) && c->qlen) {
    /* A write error that breaks the fd only drops what is queued; the read side
     * is what declares the channel dead. */
    int wfatal = 0;
    flush_queue(c, &wfatal);
    if (wfatal) {
      c->st[ST_TX_DROP] += c->qlen;
      c->qlen = 0;
    }
  }
  if (!fatal && (events & UV_READABLE) && c->reading) {
    uint32_t n = read_batch(c, &fatal);
    if (n) call_js(c, (int32_t)n);
  }
  if (c->closing) return;
  if (fatal) {
    go_dead(c, fatal);
    return;
  }
  if (status < 0 && !fatal) {
    go_dead(c, -status);
    return;
  }
  set_poll(c);
}

static void on_close(uv_handle_t *h) {
  chan *c = h->data;
  if (c->ach) napi_remove_async_cleanup_hook(c->ach);
  free(c->q);
  free(c->qmeta);
  free(c);
}

static void chan_teardown(chan *c, int in_cleanup) {
  if (c->closing) return;
  c->closing = 1;
  uv_poll_stop(&c->poll);
  if (close(c->fd) < 0) { /* nothing more to do: the fd is gone either way */ }
  c->fd = -1;
  if (!in_cleanup) {
    napi_delete_reference(c->env, c->cb);
    napi_delete_reference(c->env, c->rxbuf_ref);
    napi_delete_reference(c->env, c->rxmeta_ref);
    napi_async_destroy(c->env, c->actx);
  }
  uv_close((uv_handle_t *)&c->poll, on_close);
}

/* Env teardown (worker exit, process exit) with the channel still open. */
static void async_cleanup(napi_async_cleanup_hook_handle handle, void *arg) {
  (void)handle;
  chan_teardown((chan *)arg, 0);
}

/* chanNew(fd, kind, rxArrayBuffer, rxMeta: Uint32Array, slot, headroom, batch, qcap, onBatch) -> external */
static napi_value chan_new(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t fd, kind, slot, headroom, batch, qcap;
  uint8_t *rx, *meta;
  size_t rxlen, metalen;
  napi_valuetype cbt = napi_undefined;
  if (argc < 9 || !arg_u32(env, argv[0], &fd) || !arg_u32(env, argv[1], &kind) || kind > KIND_RAW ||
      !get_bytes(env, argv[2], &rx, &rxlen) || !get_bytes(env, argv[3], &meta, &metalen) ||
      !arg_u32(env, argv[4], &slot) || !arg_u32(env, argv[5], &headroom) || !arg_u32(env, argv[6], &batch) ||
      !arg_u32(env, argv[7], &qcap) || napi_typeof(env, argv[8], &cbt) != napi_ok || cbt != napi_function ||
      batch == 0 || batch > MAX_BATCH || slot < 64 || slot > 65536 || headroom >= slot ||
      (size_t)slot * batch > rxlen || (size_t)batch * META_WORDS * 4 > metalen || ((uintptr_t)meta & 3) ||
      qcap == 0 || qcap > 65536) {
    napi_throw_type_error(env, "IO_ERR_BAD_ARG", "chanNew: bad arguments");
    return NULL;
  }
  uv_loop_t *loop;
  NAPI_OK(napi_get_uv_event_loop(env, &loop));
  chan *c = calloc(1, sizeof *c);
  if (!c) return throw_errno(env, "calloc", ENOMEM);
  c->env = env;
  c->fd = (int)fd;
  c->kind = (int)kind;
  c->rx = rx;
  c->rxmeta = (uint32_t *)meta;
  c->slot = slot;
  c->headroom = headroom;
  c->batch = batch;
  c->qcap = qcap;
  int r = uv_poll_init(loop, &c->poll, c->fd);
  if (r < 0) {
    free(c->q);
    free(c->qmeta);
    free(c);
    return throw_errno(env, "uv_poll_init", -r);
  }
  c->poll.data = c;
  napi_value name;
  if (napi_create_reference(env, argv[8], 1, &c->cb) != napi_ok ||
      napi_create_reference(env, argv[2], 1, &c->rxbuf_ref) != napi_ok ||
      napi_create_reference(env, argv[3], 1, &c->rxmeta_ref) != napi_ok ||
      napi_create_string_utf8(env, "culvert:chan", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, NULL, name, &c->actx) != napi_ok ||
      napi_add_async_cleanup_hook(env, async_cleanup, c, &c->ach) != napi_ok) {
    /* The fd belongs to the caller until chanNew succeeds. */
    c->fd = -1;
    c->closing = 1;
    uv_close((uv_handle_t *)&c->poll, on_close);
    napi_throw_error(env, "IO_ERR_NAPI", "chanNew: could not create references");
    return NULL;
  }
  c->reading = 1;
  set_poll(c);
  napi_value ext;
  NAPI_OK(napi_create_external(env, c, NULL, NULL, &ext));
  return ext;
}

/* chanSend(h, buf: Uint8Array|ArrayBuffer, meta: Uint32Array, count) -> accepted (sent now or queued) */
static napi_value chan_send(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) {
    napi_throw_type_error(env, "IO_ERR_BAD_ARG", "chanSend(h, buf, meta, count)");
    return NULL;
  }
  chan *c = get_chan(env, argv[0]);
  if (!c) return NULL;
  uint8_t *buf, *mb;
  size_t blen, mlen;
  uint32_t count;
  if (!get_bytes(env, argv[1], &buf, &blen) || !get_bytes(env, argv[2], &mb, &mlen) ||
      !arg_u32(env, argv[3], &count) || (size_t)count * META_WORDS * 4 > mlen || ((uintptr_t)mb & 3)) {
    napi_throw_type_error(env, "IO_ERR_BAD_ARG", "chanSend(h, buf, meta, count)");
    return NULL;
  }
  const uint32_t *meta = (const uint32_t *)mb;
  for (uint32_t i = 0; i < count; i++) {
    uint64_t off = meta[i * 4], len = meta[i * 4 + 1];
    if (off + len > blen) {
      napi_throw_range_error(env, "IO_ERR_BAD_ARG", "chanSend: packet outside buffer");
      return NULL;
    }
  }
  if (c->dead) {
    c->st[ST_TX_DROP] += count;
    return mk_u32(env, 0);
  }
  uint8_t *data[MAX_BATCH];
  uint32_t len[MAX_BATCH], addr[MAX_BATCH], port[MAX_BATCH];
  int fatal = 0;
  uint32_t i = 0, accepted = 0;
  /* Keep order: while something is queued, new packets queue behind it. */
  while (i < count && c->qlen == 0) {
    uint32_t m = count - i > MAX_BATCH ? MAX_BATCH : count - i;
    for (uint32_t k = 0; k < m; k++) {
      data[k] = buf + meta[(i + k) * 4];
      len[k] = meta[(i + k) * 4 + 1];
      addr[k] = meta[(i + k) * 4 + 2];
      port[k] = meta[(i + k) * 4 + 3];
    }
    uint32_t done = push_out(c, data, len, addr, port, m, &fatal);
    i += done;
    accepted += done;
    if (fatal) break;
    if (done < m) break;
  }
  if (fatal) {
    /* The fd is broken (e.g. TUN deleted). Drop the rest; the read side reports
     * it to JS from the event loop, never re-entrantly from inside send(). */
    c->st[ST_TX_DROP] += count - i;
    return mk_u32(env, accepted);
  }
  for (; i < count; i++) {
    double before = c->st[ST_TX_DROP];
    enqueue(c, buf + meta[i * 4], meta[i * 4 + 1], meta[i * 4 + 2], meta[i * 4 + 3]);
    if (c->st[ST_TX_DROP] == before) accepted++;
  }
  set_poll(c);
  return mk_u32(env, accepted);
}

/* chanRead(h, on: boolean) */
static napi_value chan_read(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  chan *c = argc >= 1 ? get_chan(env, argv[0]) : NULL;
  if (!c) return NULL;
  bool on = true;
  if (argc >= 2) NAPI_OK(napi_get_value_bool(env, argv[1], &on));
  c->reading = on;
  set_poll(c);
  return NULL;
}

/* chanStats(h, out: Float64Array(ST_COUNT)) */
static napi_value chan_stats(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  chan *c = argc >= 2 ? get_chan(env, argv[0]) : NULL;
  if (!c) return NULL;
  uint8_t *out;
  size_t olen;
  if (!get_bytes(env, argv[1], &out, &olen) || olen < sizeof c->st || ((uintptr_t)out & 7)) {
    napi_throw_type_error(env, "IO_ERR_BAD_ARG", "chanStats(h, Float64Array)");
    return NULL;
  }
  c->st[ST_QLEN] = c->qlen;
  memcpy(out, c->st, sizeof c->st);
  return mk_i32(env, c->dead ? 1 : 0);
}

static napi_value chan_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *p = NULL;
  if (argc < 1 || napi_get_value_external(env, argv[0], &p) != napi_ok || !p) {
    napi_throw_type_error(env, "IO_ERR_BAD_HANDLE", "not a channel handle");
    return NULL;
  }
  chan_teardown((chan *)p, 0);
  return NULL;
}

/* fdClose(fd): for an fd that never became a channel. */
static napi_value fd_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint32_t fd;
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || !arg_u32(env, argv[0], &fd)) {
    napi_throw_type_error(env, "IO_ERR_BAD_ARG", "fdClose(fd)");
    return NULL;
  }
  if (close((int)fd) < 0) return throw_errno(env, "close", errno);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
    {"tunOpen", NULL, tun_open, NULL, NULL, NULL, napi_enumerable, NULL},
    {"sockOpen", NULL, sock_open, NULL, NULL, NULL, napi_enumerable, NULL},
    {"chanNew", NULL, chan_new, NULL, NULL, NULL, napi_enumerable, NULL},
    {"chanSend", NULL, chan_send, NULL, NULL, NULL, napi_enumerable, NULL},
    {"chanRead", NULL, chan_read, NULL, NULL, NULL, napi_enumerable, NULL},
    {"chanStats", NULL, chan_stats, NULL, NULL, NULL, napi_enumerable, NULL},
    {"chanClose", NULL, chan_close, NULL, NULL, NULL, napi_enumerable, NULL},
    {"fdClose", NULL, fd_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  napi_value k;
  napi_create_uint32(env, MAX_BATCH, &k);
  napi_set_named_property(env, exports, "MAX_BATCH", k);
  napi_create_uint32(env, ST_COUNT, &k);
  napi_set_named_property(env, exports, "STATS_COUNT", k);
  return exports;
}
