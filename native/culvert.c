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
 * A small rtnetlink client (nlLink, nlAddr) sets MTU, txqueuelen, up/down and IPv4
 * addresses of a device without spawning `ip`: one request, one ACK.
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
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_tun.h>
#include <linux/udp.h>
#include <linux/virtio_net.h>
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5 /* Linux 6.2 uapi; Debian 12's headers predate it */
#endif
#include <sys/uio.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <node_api.h>
#include <uv.h>

#define MAX_BATCH 64
#define META_WORDS 4
enum { KIND_TUN = 0, KIND_UDP = 1, KIND_RAW = 2 };

enum {
  ST_RX_PKTS, ST_RX_BYTES, ST_RX_TRUNC, ST_RX_ERR, ST_TX_PKTS, ST_TX_BYTES,
  ST_TX_DROP, ST_TX_ERR, ST_TX_QUEUED, ST_QLEN, ST_WAKEUPS, ST_TX_GSO, ST_RX_GRO, ST_RX_TSO, ST_COUNT
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
  /* UDP: one UDP_SEGMENT control message per sendmmsg entry; gso is 0 until the kernel
   * refuses segmentation offload once (then -1: every datagram goes alone). */
  int gso;
  union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } ctl[MAX_BATCH];
  /* UDP with UDP_GRO: datagrams the kernel coalesced land here (GRO_LAND octets each) and
   * are cut back into the rx slots; what did not fit in one batch waits for the next. */
  uint8_t *land;
  uint32_t lmsgs, lk, loff;           /* landed messages, next message, offset in it */
  uint32_t llen[MAX_BATCH], lseg[MAX_BATCH], laddr[MAX_BATCH], lport[MAX_BATCH];
  /* TUN with IFF_VNET_HDR (TSO offload): one read may bring a TCP super-packet (up to
   * 64 KiB) that is cut into MSS-sized segments here; `tseg` is the next segment of
   * the landed one, `tpend` whether it has more. */
  int vnet, vnet_gro_off, vnet_uso_off;
  uint8_t gro_hdr[120];
  struct virtio_net_hdr gro_vh;
  struct iovec gro_iov[MAX_BATCH + 2];
  struct virtio_net_hdr vh;
  uint32_t tlen, tseg, tpend;
} chan;
#define GRO_LAND 65536u
#define TUN_LAND (65536u + sizeof(struct virtio_net_hdr))

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

static void tc_wait_name(const char *name);

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
  /* A TUN takes TCP segmentation offload: the kernel hands us TCP super-packets (one
   * read instead of one per segment, and no segmentation work in the sender's stack)
   * and we cut them at the MSS in read_batch. CULVERT_TUN_OFFLOAD=0 turns it off. */
  const char *off_env = getenv("CULVERT_TUN_OFFLOAD");
  int vnet = !tap && !(off_env && off_env[0] == '0');
  ifr.ifr_flags = (short)((tap ? IFF_TAP : IFF_TUN) | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0));
  memcpy(ifr.ifr_name, name, nl < IFNAMSIZ - 1 ? nl : IFNAMSIZ - 1);
  tc_wait_name(ifr.ifr_name);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, "ioctl(TUNSETIFF) (needs CAP_NET_ADMIN)", e);
  }
  if (vnet) {
    /* Best effort: without it the kernel sends plain packets (still with the header). */
    (void)ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4));
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
  if (kind == KIND_UDP) {
    /* Receive coalesced runs (UDP_GRO, Linux 5.0): a peer's GSO send, or a NIC's GRO, then
     * reaches us as one datagram per run instead of one per packet. Best effort. */
    int one = 1;
    (void)setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof one);
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

/* tcpOpen(addr: u32, mark: u32, dev: string, peer: u32, port: u32) -> [fd, errno]
 * A TCP socket for Node's net.Socket({ fd }): SO_MARK and SO_BINDTODEVICE must be set
 * before the SYN leaves (pptp(8) --rtmark marks the control connection too), which
 * net.connect() cannot do. Optionally bound to `addr` (0 = any), then a non-blocking
 * connect() to peer:port is started: errno is 0 (connected at once) or EINPROGRESS
 * (wait for writability, then read SO_ERROR: tcpError). Any other failure throws, with
 * the fd closed. */
static napi_value tcp_open(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t addr, mark, peer, port;
  char dev[IFNAMSIZ] = {0};
  if (argc < 5 || !arg_u32(env, argv[0], &addr) || !arg_u32(env, argv[1], &mark) ||
      napi_get_value_string_utf8(env, argv[2], dev, sizeof dev, NULL) != napi_ok ||
      !arg_u32(env, argv[3], &peer) || !arg_u32(env, argv[4], &port) || port == 0 || port > 65535) {
    napi_throw_type_error(env, "IO_ERR_BAD_ARG", "tcpOpen(addr, mark, dev, peer, port)");
    return NULL;
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) return throw_errno(env, "socket(TCP)", errno);
  if (mark != 0 && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, "setsockopt(SO_MARK) (needs CAP_NET_ADMIN)", e);
  }
  if (dev[0] && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, (socklen_t)strlen(dev)) < 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, "setsockopt(SO_BINDTODEVICE)", e);
  }
  struct sockaddr_in sa;
  if (addr != 0) {
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(addr);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
      int e = errno;
      close(fd);
      return throw_errno(env, "bind", e);
    }
  }
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(peer);
  sa.sin_port = htons((uint16_t)port);
  int err = 0;
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    err = errno;
    if (err != EINPROGRESS) {
      close(fd);
      return throw_errno(env, "connect", err);
    }
  }
  napi_value arr;
  NAPI_OK(napi_create_array_with_length(env, 2, &arr));
  NAPI_OK(napi_set_element(env, arr, 0, mk_i32(env, fd)));
  NAPI_OK(napi_set_element(env, arr, 1, mk_i32(env, err)));
  return arr;
}

/* tcpError(fd) -> errno of a finished non-blocking connect (SO_ERROR; 0 = connected),
 * or -1 while it is still in progress (not writable yet). */
static napi_value tcp_error(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint32_t fd;
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || !arg_u32(env, argv[0], &fd)) {
    napi_throw_type_error(env, "IO_ERR_BAD_ARG", "tcpError(fd)");
    return NULL;
  }
  struct pollfd p = {.fd = (int)fd, .events = POLLOUT};
  int r = poll(&p, 1, 0);
  if (r < 0) return throw_errno(env, "poll", errno);
  if (r == 0) return mk_i32(env, -1);
  int e = 0;
  socklen_t el = sizeof e;
  if (getsockopt((int)fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0) return throw_errno(env, "getsockopt(SO_ERROR)", errno);
  return mk_i32(env, e);
}

/* ---------- channel core ---------- */

static void on_poll(uv_poll_t *h, int status, int events);

/* Packets already read from the kernel but not yet handed to JS (GRO / TSO leftovers). */
static int has_pending(const chan *c) { return c->lk < c->lmsgs || c->tpend; }

static uint32_t deal_landed(chan *c);
static uint32_t read_batch(chan *c, int *fatal);

static void set_poll(chan *c) {
  if (c->closing || c->dead) return;
  /* Landed GRO datagrams left over while reading was paused: the socket's (nearly always
   * set) writability wakes us to deliver them once reading resumes. */
  int want = (c->reading ? UV_READABLE : 0) | (c->qlen || (c->reading && has_pending(c)) ? UV_WRITABLE : 0);
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

/* A read that failed with errno (not EINTR): counted unless it only means "nothing now"
 * (EAGAIN), and remembered in *fatal when the fd is gone for good. ECONNREFUSED and
 * friends are per-datagram ICMP reports: counted, not fatal. */
static void read_failed(chan *c, int *fatal) {
  if (is_transient(errno)) return;
  c->st[ST_RX_ERR]++;
  if (is_fatal(errno)) *fatal = errno;
}

/* ---------- checksums (RFC 1071) ---------- */

/* One's-complement sum of p[0..len) in native byte order (RFC 1071 §2(B): the order of
 * the octet pairs does not matter as long as the result is stored the same way). */
static uint64_t csum_part(uint64_t s, const uint8_t *p, size_t len) {
  while (len >= 4) {
    uint32_t w;
    memcpy(&w, p, 4);
    s += w;
    p += 4;
    len -= 4;
  }
  if (len >= 2) {
    uint16_t h;
    memcpy(&h, p, 2);
    s += h;
    p += 2;
    len -= 2;
  }
  if (len) {
    uint16_t h = 0;
    memcpy(&h, p, 1);
    s += h;
  }
  return s;
}

static uint16_t csum_fold(uint64_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return (uint16_t)~s;
}

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static uint16_t be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static void put_be16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

/* ---------- TUN writes: TCP segments of one flow coalesced (GRO in user space) ---------- */

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* Pseudo-header sum (RFC 793 §3.1, RFC 768) of an IPv4 packet whose transport part is
 * `l4len` octets long. */
static uint64_t pseudo_sum(const uint8_t *ip, uint32_t l4len) {
  uint8_t ph[12];
  memcpy(ph, ip + 12, 8);
  ph[8] = 0;
  ph[9] = ip[9];
  put_be16(ph + 10, l4len);
  return csum_part(0, ph, 12);
}

/* The TCP or UDP checksum of a 20-octet-header IPv4 packet is right. */
static int l4_csum_ok(const uint8_t *p, uint32_t len) {
  return csum_fold(csum_part(pseudo_sum(p, len - 20), p + 20, len - 20)) == 0;
}

/* One GSO write for packets data[0..g) of one flow: the first one's headers (hl octets,
 * a 20-octet IPv4 header first) with the lengths of the whole run, then every payload.
 * `l4len_at` is where a UDP length field sits (0 for TCP), `tcp_flags` what to add to a
 * TCP header's flags (the run's last PSH); the checksum field at 20 + csum_offset gets the
 * pseudo-header sum, as CHECKSUM_PARTIAL wants it. */
static ssize_t write_gso_run(chan *c, uint8_t *const *data, const uint32_t *len, uint32_t g, uint32_t hl,
                             uint8_t gso_type, uint16_t csum_offset, uint32_t l4len_at, uint8_t tcp_flags) {
  uint32_t total = 0;
  for (uint32_t q = 0; q < g; q++) total += len[q] - hl;
  uint8_t *h = c->gro_hdr;
  memcpy(h, data[0], hl);
  put_be16(h + 2, hl + total);
  put16(h + 10, 0);
  put16(h + 10, csum_fold(csum_part(0, h, 20)));
  if (l4len_at) put_be16(h + l4len_at, hl - 20 + total);
  else h[33] |= tcp_flags;
  put16(h + 20 + csum_offset, (uint16_t)~csum_fold(pseudo_sum(h, hl - 20 + total)));
  struct virtio_net_hdr *v = &c->gro_vh;
  memset(v, 0, sizeof *v);
  v->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  v->gso_type = gso_type;
  v->hdr_len = (uint16_t)hl;
  v->gso_size = (uint16_t)(len[0] - hl);
  v->csum_start = 20;
  v->csum_offset = csum_offset;
  c->gro_iov[0].iov_base = v;
  c->gro_iov[0].iov_len = sizeof *v;
  c->gro_iov[1].iov_base = h;
  c->gro_iov[1].iov_len = hl;
  for (uint32_t q = 0; q < g; q++) {
    c->gro_iov[2 + q].iov_base = data[q] + hl;
    c->gro_iov[2 + q].iov_len = len[q] - hl;
  }
  return writev(c->fd, c->gro_iov, (int)g + 2);
}

/* A plain IPv4 TCP data segment we may merge: header fields in range, no IP options or
 * fragments, only ACK (and PSH) set, payload present, and its TCP checksum right — the
 * kernel will not check a coalesced packet's checksum again, and PPTP/L2TP carry none. */
static int tcp_mergeable(const uint8_t *p, uint32_t len, uint32_t *thl, uint32_t *pay) {
  if (len < 40 || p[0] != 0x45 || p[9] != IPPROTO_TCP || be16(p + 2) != len) return 0;
  if (be16(p + 6) & 0x3fff) return 0; /* MF or fragment offset */
  uint32_t t = (uint32_t)(p[20 + 12] >> 4) * 4;
  if (t < 20 || 20 + t >= len) return 0;
  if ((p[20 + 13] & ~0x08) != 0x10) return 0; /* ACK, maybe PSH; nothing else */
  if (!l4_csum_ok(p, len)) return 0;
  *thl = t;
  *pay = len - 20 - t;
  return 1;
}

/* How many packets from data[0] on form one coalescable run (1 = write it alone):
 * one flow, contiguous sequence numbers, equal ACK, window, TOS/TTL/DF and options,
 * equal payload sizes (the last may be shorter), PSH only on the last, under 64 KiB. */
static uint32_t tcp_run(uint8_t *const *data, const uint32_t *len, uint32_t n) {
  uint32_t thl, pay, thl2, pay2;
  if (n < 2 || !tcp_mergeable(data[0], len[0], &thl, &pay)) return 1;
  const uint8_t *a = data[0];
  uint32_t mss = pay, total = pay, next = be32(a + 24) + pay, g = 1;
  if (a[33] & 0x08) return 1;
  while (g < n && g < MAX_BATCH) {
    const uint8_t *b = data[g];
    if (!tcp_mergeable(b, len[g], &thl2, &pay2) || thl2 != thl || pay2 > mss || total + pay2 > 65535 - 20 - thl) break;
    if (memcmp(a + 12, b + 12, 8) || memcmp(a + 20, b + 20, 4) || a[1] != b[1] || a[8] != b[8] ||
        ((a[6] ^ b[6]) & 0x40) || be32(b + 24) != next || memcmp(a + 28, b + 28, 4) || memcmp(a + 34, b + 34, 2) ||
        memcmp(a + 40, b + 40, thl - 20))
      break;
    total += pay2;
    next += pay2;
    g++;
    if (pay2 < mss || (b[33] & 0x08)) break; /* a short or pushed segment ends the run */
  }
  return g;
}

/* One TCPv4 GSO write; the merged header carries the run's last PSH. */
static ssize_t write_tcp_run(chan *c, uint8_t *const *data, const uint32_t *len, uint32_t g) {
  uint32_t hl = 20 + (uint32_t)(data[0][32] >> 4) * 4;
  return write_gso_run(c, data, len, g, hl, VIRTIO_NET_HDR_GSO_TCPV4, 16, 0, data[g - 1][33] & 0x08);
}

/* A plain IPv4 UDP datagram we may merge: no IP options or fragments, a payload, and a
 * UDP checksum that is present and right (a zero one cannot be vouched for). */
static int udp_mergeable(const uint8_t *p, uint32_t len, uint32_t *pay) {
  if (len < 29 || p[0] != 0x45 || p[9] != IPPROTO_UDP || be16(p + 2) != len) return 0;
  if (be16(p + 6) & 0x3fff) return 0;
  if (be16(p + 24) != len - 20 || (p[26] == 0 && p[27] == 0)) return 0;
  if (!l4_csum_ok(p, len)) return 0;
  *pay = len - 28;
  return 1;
}

/* How many datagrams from data[0] on form one UDP run: one flow (addresses and ports,
 * TOS, TTL, DF), equal payload sizes (the last may be shorter), under 64 KiB. */
static uint32_t udp_run(uint8_t *const *data, const uint32_t *len, uint32_t n) {
  uint32_t pay, pay2;
  if (n < 2 || !udp_mergeable(data[0], len[0], &pay)) return 1;
  const uint8_t *a = data[0];
  uint32_t mss = pay, total = pay, g = 1;
  while (g < n && g < MAX_BATCH) {
    const uint8_t *b = data[g];
    if (!udp_mergeable(b, len[g], &pay2) || pay2 > mss || total + pay2 > 65535 - 28) break;
    if (memcmp(a + 12, b + 12, 12) || a[1] != b[1] || a[8] != b[8] || ((a[6] ^ b[6]) & 0x40)) break;
    total += pay2;
    g++;
    if (pay2 < mss) break;
  }
  return g;
}

/* One UDP GSO write (VIRTIO_NET_HDR_GSO_UDP_L4) for datagrams data[0..g). */
static ssize_t write_udp_run(chan *c, uint8_t *const *data, const uint32_t *len, uint32_t g) {
  return write_gso_run(c, data, len, g, 28, VIRTIO_NET_HDR_GSO_UDP_L4, 6, 24, 0);
}

/* Try to push packets [0,n) described by (data,len,addr,port) arrays; returns how
 * many were consumed (sent or dropped for a non-transient error). Stops at EAGAIN. */
static uint32_t push_out(chan *c, uint8_t *const *data, const uint32_t *len, const uint32_t *addr,
                         const uint32_t *port, uint32_t n, int *fatal) {
  uint32_t i = 0;
  if (c->kind == KIND_TUN) {
    /* With IFF_VNET_HDR every packet goes behind an all-zero header: no offload, and
     * the stack still checks the inner checksums (PPTP/L2TP carry no checksum of their own). */
    static const struct virtio_net_hdr zero_vh;
    while (i < n) {
      ssize_t w;
      uint32_t g = 1;
      int udp = 0;
      if (c->vnet && !c->vnet_gro_off && (g = tcp_run(data + i, len + i, n - i)) > 1) {
        w = write_tcp_run(c, data + i, len + i, g);
      } else if (c->vnet && !c->vnet_uso_off && (g = udp_run(data + i, len + i, n - i)) > 1) {
        udp = 1;
        w = write_udp_run(c, data + i, len + i, g);
      } else if (c->vnet) {
        struct iovec v[2] = {{(void *)&zero_vh, sizeof zero_vh}, {data[i], len[i]}};
        w = writev(c->fd, v, 2);
      } else {
        w = write(c->fd, data[i], len[i]);
      }
      if (w >= 0) {
        for (uint32_t q = 0; q < g; q++) c->st[ST_TX_BYTES] += (double)len[i + q];
        c->st[ST_TX_PKTS] += g;
        if (g > 1) c->st[ST_TX_GSO]++;
        i += g;
        continue;
      }
      if (g > 1 && errno == EINVAL) {
        /* The kernel refused the coalesced packet (UDP GSO needs Linux 6.2): never again
         * on this device. */
        if (udp) c->vnet_uso_off = 1;
        else c->vnet_gro_off = 1;
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
  uint32_t plain_until = 0;
  while (i < n) {
    uint32_t m = n - i > MAX_BATCH ? MAX_BATCH : n - i;
    /* UDP generic segmentation offload (UDP_SEGMENT, Linux 4.18): a run of datagrams to
     * the same peer with the same length (the last may be shorter) leaves as ONE
     * sendmmsg entry whose iovecs the kernel cuts back into datagrams, after a single
     * route lookup and one trip down the stack instead of one per datagram. A TUN batch
     * of one TCP flow, or of a flood of small packets, is exactly such a run. */
    uint32_t nmsg = 0;
    uint32_t grp[MAX_BATCH];
    int may_gso = c->kind == KIND_UDP && c->gso >= 0 && i >= plain_until;
    for (uint32_t k = 0; k < m;) {
      uint32_t g = 1, seg = len[i + k], total = seg;
      if (may_gso) {
        while (k + g < m && g < 64 && addr[i + k + g] == addr[i + k] && port[i + k + g] == port[i + k]
               && len[i + k + g] <= seg && len[i + k + g] > 0 && total + len[i + k + g] <= 65000) {
          total += len[i + k + g];
          g++;
          if (len[i + k + g - 1] < seg) break; /* a shorter datagram ends the run */
        }
      }
      struct sockaddr_in *sa = &c->sa[nmsg];
      sa->sin_family = AF_INET;
      sa->sin_addr.s_addr = htonl(addr[i + k]);
      sa->sin_port = c->kind == KIND_UDP ? htons((uint16_t)port[i + k]) : 0;
      for (uint32_t q = 0; q < g; q++) {
        c->iov[k + q].iov_base = data[i + k + q];
        c->iov[k + q].iov_len = len[i + k + q];
      }
      struct msghdr *mh = &c->mm[nmsg].msg_hdr;
      memset(&c->mm[nmsg], 0, sizeof c->mm[nmsg]);
      mh->msg_name = sa;
      mh->msg_namelen = sizeof *sa;
      mh->msg_iov = &c->iov[k];
      mh->msg_iovlen = g;
      if (g > 1) {
        mh->msg_control = c->ctl[nmsg].buf;
        mh->msg_controllen = sizeof c->ctl[nmsg].buf;
        struct cmsghdr *cm = CMSG_FIRSTHDR(mh);
        cm->cmsg_level = IPPROTO_UDP; /* SOL_UDP */
        cm->cmsg_type = UDP_SEGMENT;
        cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        uint16_t gs = (uint16_t)seg;
        memcpy(CMSG_DATA(cm), &gs, sizeof gs);
      }
      grp[nmsg++] = g;
      k += g;
    }
    int r = sendmmsg(c->fd, c->mm, nmsg, MSG_DONTWAIT);
    if (r > 0) {
      for (int j = 0; j < r; j++) {
        for (uint32_t q = 0; q < grp[j]; q++) c->st[ST_TX_BYTES] += (double)len[i + q];
        c->st[ST_TX_PKTS] += grp[j];
        if (grp[j] > 1) c->st[ST_TX_GSO]++;
        i += grp[j];
      }
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (r < 0 && grp[0] > 1) {
      /* Nothing was sent. EIO: the route's device cannot checksum for us; ENOPROTOOPT /
       * EOPNOTSUPP: no UDP GSO in this kernel: one datagram per entry from now on. Anything
       * else (EINVAL: a datagram longer than the path MTU allows for a segment, ...): this
       * run again without offload, so each datagram meets its own fate. */
      if (errno == EIO || errno == ENOPROTOOPT || errno == EOPNOTSUPP) c->gso = -1;
      else plain_until = i + grp[0];
      continue;
    }
    /* The first entry failed for good (EMSGSIZE, ENETUNREACH, ECONNREFUSED from an
     * earlier ICMP, ...): drop its datagrams and go on. */
    if (r < 0 && is_fatal(errno)) *fatal = errno;
    c->st[ST_TX_ERR] += grp[0];
    i += grp[0];
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

/* Copies landed datagrams, cut at their GRO segment size, into the rx slots: up to
 * c->batch packets. Returns how many; what is left stays landed for the next call. */
static uint32_t deal_landed(chan *c) {
  uint32_t n = 0, cap = c->slot - c->headroom;
  while (c->lk < c->lmsgs && n < c->batch) {
    uint32_t k = c->lk, len = c->llen[k], seg = c->lseg[k] ? c->lseg[k] : len;
    uint32_t piece = len - c->loff < seg ? len - c->loff : seg;
    if (piece > cap) {
      c->st[ST_RX_TRUNC]++;
    } else {
      uint32_t off = n * c->slot + c->headroom;
      memcpy(c->rx + off, c->land + (size_t)k * GRO_LAND + c->loff, piece);
      c->rxmeta[n * META_WORDS] = off;
      c->rxmeta[n * META_WORDS + 1] = piece;
      c->rxmeta[n * META_WORDS + 2] = c->laddr[k];
      c->rxmeta[n * META_WORDS + 3] = c->lport[k];
      c->st[ST_RX_BYTES] += (double)piece;
      n++;
    }
    c->loff += piece;
    if (c->loff >= len || piece == 0) {
      c->lk++;
      c->loff = 0;
    }
  }
  c->st[ST_RX_PKTS] += n;
  return n;
}

static uint32_t read_gro(chan *c, int *fatal) {
  if (c->lk < c->lmsgs) return deal_landed(c);
  for (uint32_t k = 0; k < c->batch; k++) {
    c->iov[k].iov_base = c->land + (size_t)k * GRO_LAND;
    c->iov[k].iov_len = GRO_LAND;
    memset(&c->mm[k], 0, sizeof c->mm[k]);
    c->mm[k].msg_hdr.msg_name = &c->sa[k];
    c->mm[k].msg_hdr.msg_namelen = sizeof c->sa[k];
    c->mm[k].msg_hdr.msg_iov = &c->iov[k];
    c->mm[k].msg_hdr.msg_iovlen = 1;
    c->mm[k].msg_hdr.msg_control = c->ctl[k].buf;
    c->mm[k].msg_hdr.msg_controllen = sizeof c->ctl[k].buf;
  }
  int r;
  do {
    r = recvmmsg(c->fd, c->mm, c->batch, MSG_DONTWAIT, NULL);
  } while (r < 0 && errno == EINTR);
  if (r < 0) {
    read_failed(c, fatal);
    return 0;
  }
  uint32_t m = 0;
  for (int k = 0; k < r; k++) {
    struct msghdr *mh = &c->mm[k].msg_hdr;
    if (mh->msg_flags & MSG_TRUNC) {
      c->st[ST_RX_TRUNC]++;
      continue;
    }
    uint32_t seg = 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
      if (cm->cmsg_level == IPPROTO_UDP && cm->cmsg_type == UDP_GRO) {
        int v;
        memcpy(&v, CMSG_DATA(cm), sizeof v);
        if (v > 0) seg = (uint32_t)v;
      }
    }
    /* Compact: landed message m is the k-th received one (k >= m). */
    if (m != (uint32_t)k) memmove(c->land + (size_t)m * GRO_LAND, c->land + (size_t)k * GRO_LAND, c->mm[k].msg_len);
    c->llen[m] = c->mm[k].msg_len;
    c->lseg[m] = seg;
    if (seg && c->llen[m] > seg) c->st[ST_RX_GRO]++;
    c->laddr[m] = ntohl(c->sa[k].sin_addr.s_addr);
    c->lport[m] = ntohs(c->sa[k].sin_port);
    m++;
  }
  c->lmsgs = m;
  c->lk = 0;
  c->loff = 0;
  return deal_landed(c);
}

/* ---------- TUN offload: checksums and TCP segmentation ---------- */

/* Copies the landed packet (or its next TCP segment) into rx slot n; returns 1 if a
 * packet was produced, 0 if it was dropped. Leaves c->tpend set while segments remain. */
static int deal_tun(chan *c, uint32_t n) {
  uint32_t cap = c->slot - c->headroom;
  uint8_t *pkt = c->land + sizeof(struct virtio_net_hdr);
  uint32_t L = c->tlen;
  uint8_t *dst = c->rx + n * c->slot + c->headroom;
  const struct virtio_net_hdr *h = &c->vh;
  c->tpend = 0;
  if ((h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) == VIRTIO_NET_HDR_GSO_NONE) {
    if (L > cap) {
      c->st[ST_RX_TRUNC]++;
      return 0;
    }
    memcpy(dst, pkt, L);
    if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
      /* CHECKSUM_PARTIAL: the field already holds the pseudo-header sum; finish it. */
      uint32_t cs = h->csum_start, co = h->csum_offset;
      if (cs + co + 2 > L) {
        c->st[ST_RX_ERR]++;
        return 0;
      }
      uint16_t v = csum_fold(csum_part(0, dst + cs, L - cs));
      if (v == 0 && co == 6) v = 0xffff; /* UDP sends a zero sum as all ones (RFC 768) */
      put16(dst + cs + co, v);
    }
    c->rxmeta[n * META_WORDS] = n * c->slot + c->headroom;
    c->rxmeta[n * META_WORDS + 1] = L;
    c->rxmeta[n * META_WORDS + 2] = 0;
    c->rxmeta[n * META_WORDS + 3] = 0;
    c->st[ST_RX_BYTES] += (double)L;
    return 1;
  }
  /* TCPv4 super-packet: IPv4 header + TCP header + payload cut at gso_size. */
  uint32_t ihl = (L >= 20) ? (uint32_t)(pkt[0] & 15) * 4 : 0;
  uint32_t thl = (ihl >= 20 && L >= ihl + 20) ? (uint32_t)(pkt[ihl + 12] >> 4) * 4 : 0;
  uint32_t hl = ihl + thl, mss = h->gso_size;
  if ((h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_TCPV4 || (pkt[0] >> 4) != 4 || ihl < 20 ||
      thl < 20 || hl > L || pkt[9] != IPPROTO_TCP || mss == 0 || hl + mss > cap) {
    c->st[ST_RX_ERR]++;
    return 0;
  }
  uint32_t payload = L - hl, nseg = payload ? (payload + mss - 1) / mss : 1, i = c->tseg;
  uint32_t off = i * mss, chunk = payload - off < mss ? payload - off : mss;
  memcpy(dst, pkt, hl);
  memcpy(dst + hl, pkt + hl + off, chunk);
  /* IPv4: total length, identification + i, header checksum. */
  put_be16(dst + 2, hl + chunk);
  put_be16(dst + 4, (uint32_t)be16(pkt + 4) + i);
  put16(dst + 10, 0);
  put16(dst + 10, csum_fold(csum_part(0, dst, ihl)));
  /* TCP: sequence + offset; FIN/PSH only on the last segment, CWR only on the first. */
  uint8_t *t = dst + ihl;
  uint32_t seq = ((uint32_t)t[4] << 24 | (uint32_t)t[5] << 16 | (uint32_t)t[6] << 8 | t[7]) + off;
  t[4] = (uint8_t)(seq >> 24); t[5] = (uint8_t)(seq >> 16); t[6] = (uint8_t)(seq >> 8); t[7] = (uint8_t)seq;
  if (i + 1 < nseg) t[13] &= (uint8_t)~0x09;
  if (i > 0) t[13] &= (uint8_t)~0x80;
  /* Full TCP checksum over the pseudo-header (RFC 793 §3.1) and the segment. */
  put16(t + 16, 0);
  put16(t + 16, csum_fold(csum_part(pseudo_sum(dst, thl + chunk), t, thl + chunk)));
  c->rxmeta[n * META_WORDS] = n * c->slot + c->headroom;
  c->rxmeta[n * META_WORDS + 1] = hl + chunk;
  c->rxmeta[n * META_WORDS + 2] = 0;
  c->rxmeta[n * META_WORDS + 3] = 0;
  c->st[ST_RX_BYTES] += (double)(hl + chunk);
  c->tseg = i + 1;
  c->tpend = c->tseg < nseg;
  return 1;
}

/* TUN reads with IFF_VNET_HDR: a landed super-packet is dealt out a segment per slot. */
static uint32_t read_tun_vnet(chan *c, int *fatal) {
  uint32_t n = 0;
  while (c->tpend && n < c->batch) n += (uint32_t)deal_tun(c, n);
  while (n < c->batch && !c->tpend) {
    ssize_t r = read(c->fd, c->land, TUN_LAND);
    if (r < 0) {
      if (errno == EINTR) continue;
      read_failed(c, fatal);
      break;
    }
    if ((size_t)r <= sizeof(struct virtio_net_hdr)) continue;
    memcpy(&c->vh, c->land, sizeof c->vh);
    c->tlen = (uint32_t)((size_t)r - sizeof(struct virtio_net_hdr));
    c->tseg = 0;
    if (c->vh.gso_type != VIRTIO_NET_HDR_GSO_NONE) c->st[ST_RX_TSO]++;
    n += (uint32_t)deal_tun(c, n);
    while (c->tpend && n < c->batch) n += (uint32_t)deal_tun(c, n);
  }
  c->st[ST_RX_PKTS] += n;
  return n;
}

static uint32_t read_batch(chan *c, int *fatal) {
  uint32_t n = 0;
  uint32_t cap = c->slot - c->headroom;
  if (c->kind == KIND_TUN && c->vnet) return read_tun_vnet(c, fatal);
  if (c->kind == KIND_TUN) {
    while (n < c->batch) {
      uint32_t off = n * c->slot + c->headroom;
      ssize_t r = read(c->fd, c->rx + off, cap);
      if (r < 0) {
        if (errno == EINTR) continue;
        read_failed(c, fatal);
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
  if (c->land) return read_gro(c, fatal);
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
    read_failed(c, fatal);
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
  if (!fatal && c->reading && ((events & UV_READABLE) || has_pending(c))) {
    uint32_t n = read_batch(c, &fatal);
    if (n) call_js(c, (int32_t)n);
    /* Coalesced datagrams or a super-packet still landed: hand them over now, a batch
     * per call, while JS keeps reading (nothing else would wake us for them). */
    while (!fatal && !c->closing && !c->dead && c->reading && has_pending(c)) {
      n = c->kind == KIND_TUN ? read_tun_vnet(c, &fatal) : deal_landed(c);
      if (n) call_js(c, (int32_t)n);
      else if (c->kind == KIND_TUN) break;
    }
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
  free(c->land);
  free(c->q);
  free(c->qmeta);
  free(c);
}

/* ---------- TUN close off the loop thread ----------
 *
 * Closing a TUN fd deletes its device, and the kernel then waits for RCU (rcu_barrier
 * in netdev_run_todo, after rtnl_lock is released): ~20 ms of sleep per device, measured
 * with 1,000 PPP interfaces going down at once, during which the event loop did nothing.
 * So chanClose hands a TUN's fd to the threadpool (napi async work) and returns a
 * promise for "the device is gone". Opening a TUN under a name whose close is still
 * pending must not fail with EBUSY: tunOpen closes that fd itself if no worker has
 * started on it, else waits for the worker (one device removal). */
typedef struct tclose {
  napi_async_work work;
  napi_deferred def;
  int fd;
  int state; /* 0 queued, 1 being closed, 2 closed */
  char name[IFNAMSIZ];
  struct tclose *next;
} tclose;

static uv_once_t tc_once = UV_ONCE_INIT;
static uv_mutex_t tc_mu;
static uv_cond_t tc_cv;
static tclose *tc_list; /* not yet closed, under tc_mu */

static void tc_init(void) {
  if (uv_mutex_init(&tc_mu) != 0 || uv_cond_init(&tc_cv) != 0) abort();
}

/* Closes t->fd unless someone else has taken it; returns once it is closed. */
static void tc_close_now(tclose *t) {
  uv_mutex_lock(&tc_mu);
  if (t->state != 0) {
    uv_mutex_unlock(&tc_mu);
    return;
  }
  t->state = 1;
  uv_mutex_unlock(&tc_mu);
  (void)close(t->fd);
  uv_mutex_lock(&tc_mu);
  t->state = 2;
  for (tclose **pp = &tc_list; *pp; pp = &(*pp)->next) {
    if (*pp == t) {
      *pp = t->next;
      break;
    }
  }
  uv_cond_broadcast(&tc_cv);
  uv_mutex_unlock(&tc_mu);
}

/* Before TUNSETIFF on `name`: make sure no old fd of that name is still being closed. */
static void tc_wait_name(const char *name) {
  if (strchr(name, '%')) return; /* the kernel picks a free name */
  uv_once(&tc_once, tc_init);
  uv_mutex_lock(&tc_mu);
  for (;;) {
    tclose *t = tc_list;
    while (t && strncmp(t->name, name, IFNAMSIZ) != 0) t = t->next;
    if (!t) break;
    if (t->state == 0) {
      uv_mutex_unlock(&tc_mu);
      tc_close_now(t); /* the worker will find it done */
      uv_mutex_lock(&tc_mu);
    } else {
      uv_cond_wait(&tc_cv, &tc_mu);
    }
  }
  uv_mutex_unlock(&tc_mu);
}

static void tc_execute(napi_env env, void *data) {
  (void)env;
  tc_close_now(data);
}

static void tc_complete(napi_env env, napi_status status, void *data) {
  tclose *t = data;
  tc_close_now(t); /* cancelled work never ran */
  napi_value u;
  if (napi_get_undefined(env, &u) == napi_ok) napi_resolve_deferred(env, t->def, u);
  napi_delete_async_work(env, t->work);
  free(t);
}

/* Queues the close of TUN fd `fd`; returns the promise, or NULL (then the caller closes it). */
static napi_value tc_queue(napi_env env, int fd) {
  uv_once(&tc_once, tc_init);
  tclose *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (ioctl(fd, TUNGETIFF, &ifr) == 0) memcpy(t->name, ifr.ifr_name, IFNAMSIZ - 1);
  t->fd = fd;
  napi_value promise, name;
  if (napi_create_promise(env, &t->def, &promise) != napi_ok) {
    free(t);
    return NULL;
  }
  if (napi_create_string_utf8(env, "culvert:tunClose", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, tc_execute, tc_complete, t, &t->work) != napi_ok) {
    /* The promise is dropped unresolved; nobody has seen it. */
    free(t);
    return NULL;
  }
  uv_mutex_lock(&tc_mu);
  t->next = tc_list;
  tc_list = t;
  uv_mutex_unlock(&tc_mu);
  if (napi_queue_async_work(env, t->work) != napi_ok) {
    tc_close_now(t);
    napi_value u;
    napi_get_undefined(env, &u);
    napi_resolve_deferred(env, t->def, u);
    napi_delete_async_work(env, t->work);
    free(t);
  }
  return promise;
}

/* Returns the promise of an asynchronous TUN close when `async` and possible, else NULL. */
static napi_value chan_teardown(chan *c, int in_cleanup, int async) {
  if (c->closing) return NULL;
  c->closing = 1;
  /* The poll handle lets go of the fd (epoll) before anyone closes it. */
  uv_poll_stop(&c->poll);
  int fd = c->fd;
  c->fd = -1;
  if (!in_cleanup) {
    napi_delete_reference(c->env, c->cb);
    napi_delete_reference(c->env, c->rxbuf_ref);
    napi_delete_reference(c->env, c->rxmeta_ref);
    napi_async_destroy(c->env, c->actx);
  }
  napi_env env = c->env;
  int tun = c->kind == KIND_TUN;
  uv_close((uv_handle_t *)&c->poll, on_close); /* frees c later */
  napi_value promise = async && tun ? tc_queue(env, fd) : NULL;
  if (!promise && close(fd) < 0) { /* nothing more to do: the fd is gone either way */ }
  return promise;
}

/* Env teardown (worker exit, process exit) with the channel still open. */
static void async_cleanup(napi_async_cleanup_hook_handle handle, void *arg) {
  (void)handle;
  chan_teardown((chan *)arg, 0, 0);
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
  if (kind == KIND_TUN) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    if (ioctl(c->fd, TUNGETIFF, &ifr) == 0 && (ifr.ifr_flags & IFF_VNET_HDR)) {
      c->land = malloc(TUN_LAND);
      c->vnet = 1;
      if (!c->land) {
        free(c);
        return throw_errno(env, "malloc", ENOMEM);
      }
    }
  }
  if (kind == KIND_UDP) {
    int gro = 0;
    socklen_t gl = sizeof gro;
    if (getsockopt(c->fd, IPPROTO_UDP, UDP_GRO, &gro, &gl) == 0 && gro) {
      /* Address space only: the kernel touches no more pages than it fills. */
      c->land = malloc((size_t)batch * GRO_LAND);
      if (!c->land) {
        int off = 0;
        (void)setsockopt(c->fd, IPPROTO_UDP, UDP_GRO, &off, sizeof off);
      }
    }
  }
  int r = uv_poll_init(loop, &c->poll, c->fd);
  if (r < 0) {
    free(c->land);
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
  size_t argc = 2;
  napi_value argv[2];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *p = NULL;
  if (argc < 1 || napi_get_value_external(env, argv[0], &p) != napi_ok || !p) {
    napi_throw_type_error(env, "IO_ERR_BAD_HANDLE", "not a channel handle");
    return NULL;
  }
  /* chanClose(h, async): async (TUN only) returns a promise that resolves once the fd is
   * closed, i.e. the device is gone; otherwise closes now and returns undefined. */
  bool async = false;
  if (argc >= 2) NAPI_OK(napi_get_value_bool(env, argv[1], &async));
  return chan_teardown((chan *)p, 0, async);
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

/* ---------- rtnetlink: link settings and IPv4 addresses ----------
 *
 * Synchronous on purpose. The kernel runs an rtnetlink request inside the sender's
 * sendmsg() (netlink_unicast_kernel -> rtnetlink_rcv, under rtnl_lock), so the ACK is
 * already queued when sendto() returns and recv() does not sleep: the whole round trip
 * is a few microseconds, cheaper than handing it to the libuv threadpool (whose 4
 * threads fs and dns share), and it matches TUNSETIFF, which takes the same lock on
 * this thread. SO_RCVTIMEO bounds the wait should an ACK ever not come. */

static __thread char nl_msg[200];  /* the kernel's extended-ACK text for the last failure */
static __thread uint32_t nl_seq;

typedef union {
  struct nlmsghdr h;
  char b[256];
} nl_req;

static int nl_attr(nl_req *r, uint16_t type, const void *data, size_t len) {
  size_t off = NLMSG_ALIGN(r->h.nlmsg_len);
  if (off + RTA_SPACE(len) > sizeof r->b) return 0;
  struct rtattr *a = (struct rtattr *)(r->b + off);
  a->rta_type = type;
  a->rta_len = (unsigned short)RTA_LENGTH(len);
  memcpy(RTA_DATA(a), data, len);
  r->h.nlmsg_len = (uint32_t)(off + RTA_SPACE(len));
  return 1;
}

static int nl_open(void) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return -errno;
  int one = 1;
  /* Error ACKs carry the kernel's reason text, and not a copy of our request. */
  (void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  (void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  struct timeval tv = {1, 0};
  (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

static void nl_extack(const struct nlmsghdr *h, const struct nlmsgerr *e) {
  if (!(h->nlmsg_flags & NLM_F_ACK_TLVS)) return;
  size_t off = sizeof *e;  /* TLVs follow the (capped) copy of our request */
  if (!(h->nlmsg_flags & NLM_F_CAPPED) && e->msg.nlmsg_len > sizeof(struct nlmsghdr))
    off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
  size_t end = h->nlmsg_len - NLMSG_HDRLEN;
  while (off + sizeof(struct nlattr) <= end) {
    const struct nlattr *a = (const struct nlattr *)((const char *)e + off);
    if (a->nla_len < sizeof *a || off + a->nla_len > end) return;
    if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
      size_t n = a->nla_len - sizeof *a;
      const char *t = (const char *)a + sizeof *a;
      if (n >= sizeof nl_msg) n = sizeof nl_msg - 1;
      memcpy(nl_msg, t, n);
      nl_msg[n] = 0;
      return;
    }
    off += NLA_ALIGN(a->nla_len);
  }
}

/* Sends one request and waits for its ACK: 0 or -errno. */
static int nl_talk(int fd, nl_req *r) {
  r->h.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  r->h.nlmsg_seq = ++nl_seq;
  struct sockaddr_nl kernel;
  memset(&kernel, 0, sizeof kernel);
  kernel.nl_family = AF_NETLINK;
  ssize_t w;
  do {
    w = sendto(fd, r->b, r->h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel);
  } while (w < 0 && errno == EINTR);
  if (w < 0) return -errno;
  union {
    struct nlmsghdr h;
    char b[1024];
  } resp;
  for (int tries = 0; tries < 16; tries++) {
    ssize_t got = recv(fd, resp.b, sizeof resp.b, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return (errno == EAGAIN || errno == EWOULDBLOCK) ? -ETIMEDOUT : -errno;
    }
    int len = (int)got;
    for (struct nlmsghdr *h = &resp.h; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != r->h.nlmsg_seq || h->nlmsg_type != NLMSG_ERROR) continue;
      if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr))) return -EPROTO;
      const struct nlmsgerr *e = NLMSG_DATA(h);
      if (e->error < 0) nl_extack(h, e);
      return e->error > 0 ? -EPROTO : e->error;
    }
  }
  return -EPROTO;
}

/* The index of device `name` (SIOCGIFINDEX works on any socket, this one included). */
static int nl_index(int fd, const char *name) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, strnlen(name, IFNAMSIZ - 1));
  if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) return -errno;
  return ifr.ifr_ifindex;
}

/* Reads (name, ifindex) arguments: a name when ifindex is 0. */
static int arg_dev(napi_env env, napi_value vname, napi_value vidx, char *name, uint32_t *idx) {
  size_t nl = 0;
  if (!arg_u32(env, vidx, idx) || *idx > INT32_MAX ||
      napi_get_value_string_utf8(env, vname, name, IFNAMSIZ, &nl) != napi_ok || (nl == 0 && *idx == 0) ||
      memchr(name, ':', nl) || memchr(name, '/', nl))
    return 0;
  return 1;
}

static int nl_resolve(int fd, const char *name, uint32_t idx) {
  if (idx) return (int)idx;
  return nl_index(fd, name);
}

/* nlLink(name, ifindex, mtu, txqlen, up) -> 0 | -errno. mtu/txqlen/up -1 = leave as is;
 * up 0 = down, 1 = up. One RTM_SETLINK (rtnetlink(7)) carries all the changes. */
static napi_value nl_link(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char name[IFNAMSIZ] = {0};
  uint32_t idx;
  int32_t mtu, qlen, up;
  if (argc < 5 || !arg_dev(env, argv[0], argv[1], name, &idx) ||
      napi_get_value_int32(env, argv[2], &mtu) != napi_ok || napi_get_value_int32(env, argv[3], &qlen) != napi_ok ||
      napi_get_value_int32(env, argv[4], &up) != napi_ok || mtu < -1 || qlen < -1 || up < -1 || up > 1) {
    napi_throw_type_error(env, "IO_ERR_BAD_ARG", "nlLink(name, ifindex, mtu, txqlen, up)");
    return NULL;
  }
  nl_msg[0] = 0;
  int fd = nl_open();
  if (fd < 0) return mk_i32(env, fd);
  int ix = nl_resolve(fd, name, idx);
  int rc = ix;
  if (ix > 0) {
    nl_req r;
    memset(&r, 0, sizeof r);
    r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
    r.h.nlmsg_type = RTM_SETLINK;
    struct ifinfomsg *ifi = NLMSG_DATA(&r.h);
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ix;
    if (up >= 0) {
      ifi->ifi_change = IFF_UP;
      ifi->ifi_flags = up ? IFF_UP : 0;
    }
    uint32_t m = (uint32_t)mtu, q = (uint32_t)qlen;
    if (mtu >= 0) nl_attr(&r, IFLA_MTU, &m, sizeof m);
    if (qlen >= 0) nl_attr(&r, IFLA_TXQLEN, &q, sizeof q);
    rc = nl_talk(fd, &r);
  }
  close(fd);
  return mk_i32(env, rc);
}

/* nlAddr(add, name, ifindex, local, prefix, hasPeer, peer) -> 0 | -errno. Addresses are
 * host-order u32. With a peer it is what `ip addr add L/32 peer P/32 dev X` sends:
 * IFA_LOCAL = L, IFA_ADDRESS = P, prefix 32 (rtnetlink(7): IFA_ADDRESS is the peer on a
 * point-to-point link); without, IFA_ADDRESS = IFA_LOCAL. */
static napi_value nl_addr(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char name[IFNAMSIZ] = {0};
  bool add = false, has_peer = false;
  uint32_t idx, local, prefix, peer;
  if (argc < 7 || napi_get_value_bool(env, argv[0], &add) != napi_ok || !arg_dev(env, argv[1], argv[2], name, &idx) ||
      !arg_u32(env, argv[3], &local) || !arg_u32(env, argv[4], &prefix) || prefix > 32 ||
      napi_get_value_bool(env, argv[5], &has_peer) != napi_ok || !arg_u32(env, argv[6], &peer) ||
      (has_peer && prefix != 32)) {
    napi_throw_type_error(env, "IO_ERR_BAD_ARG", "nlAddr(add, name, ifindex, local, prefix, hasPeer, peer)");
    return NULL;
  }
  nl_msg[0] = 0;
  int fd = nl_open();
  if (fd < 0) return mk_i32(env, fd);
  int ix = nl_resolve(fd, name, idx);
  int rc = ix;
  if (ix > 0) {
    nl_req r;
    memset(&r, 0, sizeof r);
    r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
    r.h.nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
    /* As `ip addr add`: fail with EEXIST rather than touch an address that is there. */
    if (add) r.h.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
    struct ifaddrmsg *ifa = NLMSG_DATA(&r.h);
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = (unsigned char)prefix;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = (uint32_t)ix;
    uint32_t l = htonl(local), a = htonl(has_peer ? peer : local);
    nl_attr(&r, IFA_LOCAL, &l, sizeof l);
    nl_attr(&r, IFA_ADDRESS, &a, sizeof a);
    rc = nl_talk(fd, &r);
  }
  close(fd);
  return mk_i32(env, rc);
}

/* nlError() -> the kernel's text for the last nlLink/nlAddr failure on this thread, or "". */
static napi_value nl_error(napi_env env, napi_callback_info info) {
  napi_value s;
  NAPI_OK(napi_create_string_utf8(env, nl_msg, NAPI_AUTO_LENGTH, &s));
  return s;
}

/*
 * schedBatch(on: boolean) -> errno (0 = done). The calling thread's policy becomes
 * SCHED_BATCH (or back to SCHED_OTHER). A SCHED_BATCH thread keeps its nice value and
 * its fair share of CPU; what changes is that its wake-ups no longer preempt the task
 * running on that CPU (kernel/sched/fair.c: batch tasks' preemption is driven by the
 * tick). For a packet engine that is the difference between one context switch per
 * packet and one per batch when both ends of a hop share a CPU: the thread that woke it
 * finishes its batch, and the engine then finds a fuller queue. Unprivileged.
 */
static napi_value sched_batch(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  bool on = false;
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_bool(env, argv[0], &on) != napi_ok) {
    napi_throw_type_error(env, "IO_ERR_BAD_ARG", "schedBatch(on: boolean)");
    return NULL;
  }
  struct sched_param sp = {0};
  int e = sched_setscheduler(0, on ? SCHED_BATCH : SCHED_OTHER, &sp) < 0 ? errno : 0;
  return mk_u32(env, (uint32_t)e);
}

/* strerror(errno) -> text */
static napi_value str_error(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint32_t e;
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || !arg_u32(env, argv[0], &e)) {
    napi_throw_type_error(env, "IO_ERR_BAD_ARG", "strerror(errno)");
    return NULL;
  }
  char buf[128];
  const char *t = strerror_r((int)e, buf, sizeof buf); /* GNU variant */
  napi_value s;
  NAPI_OK(napi_create_string_utf8(env, t, NAPI_AUTO_LENGTH, &s));
  return s;
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
    {"tcpOpen", NULL, tcp_open, NULL, NULL, NULL, napi_enumerable, NULL},
    {"tcpError", NULL, tcp_error, NULL, NULL, NULL, napi_enumerable, NULL},
    {"nlLink", NULL, nl_link, NULL, NULL, NULL, napi_enumerable, NULL},
    {"nlAddr", NULL, nl_addr, NULL, NULL, NULL, napi_enumerable, NULL},
    {"nlError", NULL, nl_error, NULL, NULL, NULL, napi_enumerable, NULL},
    {"schedBatch", NULL, sched_batch, NULL, NULL, NULL, napi_enumerable, NULL},
    {"strerror", NULL, str_error, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  napi_value k;
  napi_create_uint32(env, MAX_BATCH, &k);
  napi_set_named_property(env, exports, "MAX_BATCH", k);
  napi_create_uint32(env, ST_COUNT, &k);
  napi_set_named_property(env, exports, "STATS_COUNT", k);
  return exports;
}
