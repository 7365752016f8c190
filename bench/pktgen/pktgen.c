/*
 * Lean 64-byte UDP packet generator and sink for bench/dataplane.ts, compiled at bench
 * time with the system gcc into a temporary directory. The same binary drives every path
 * (veth, OpenVPN, wireguard-go, culvert), so the packets-per-second ratios compare the
 * tunnels and not the traffic tools.
 *
 *   pktgen send DST PORT SECS [SIZE] [BATCH]
 *     Connected UDP socket, sendmmsg() of BATCH copies of one SIZE-byte payload, back to
 *     back for SECS seconds (saturation: no pacing). Prints one JSON line:
 *     {"sent":N,"calls":N,"errors":N,"lastErrno":E,"seconds":S,"cpuUs":C}
 *     "sent" is what the kernel accepted; a UDP send that a full device queue drops
 *     is still "accepted" (Linux counts it in Udp SndbufErrors of the sender's netns).
 *
 *   pktgen sink ADDR PORT MAXSECS IDLE_MS
 *     Binds ADDR:PORT with a 4 MiB receive buffer, prints "ready", then recvmmsg() in
 *     batches of 64 until IDLE_MS pass without a packet after the first one, or MAXSECS
 *     pass, or SIGTERM. Prints one JSON line:
 *     {"received":N,"calls":N,"drops":N,"span":S,"cpuUs":C}
 *     "drops": datagrams the kernel dropped at this socket (receive buffer full), from
 *     SO_MEMINFO; "span": seconds from first to last packet.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXB 1024

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* This process's user + system CPU time in microseconds (its share of the shared cores). */
static double cpu_us(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static int addr(const char *ip, const char *port, struct sockaddr_in *sa) {
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_port = htons((unsigned short)atoi(port));
  return inet_pton(AF_INET, ip, &sa->sin_addr) == 1 ? 0 : -1;
}

static int do_send(int argc, char **argv) {
  if (argc < 5) return 2;
  struct sockaddr_in dst;
  if (addr(argv[2], argv[3], &dst)) return 2;
  double secs = atof(argv[4]);
  int size = argc > 5 ? atoi(argv[5]) : 64;
  int batch = argc > 6 ? atoi(argv[6]) : 64;
  if (size < 1 || size > 65507 || batch < 1 || batch > MAXB) return 2;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&dst, sizeof dst)) { perror("pktgen send"); return 1; }
  static char payload[65536];
  memset(payload, 0x5a, (size_t)size);
  static struct mmsghdr mm[MAXB];
  static struct iovec iov;
  iov.iov_base = payload;
  iov.iov_len = (size_t)size;
  for (int i = 0; i < batch; i++) { mm[i].msg_hdr.msg_iov = &iov; mm[i].msg_hdr.msg_iovlen = 1; }
  unsigned long long sent = 0, calls = 0, errors = 0;
  int lastErrno = 0;
  double t0 = now(), end = t0 + secs, t = t0;
  while (t < end) {
    int r = sendmmsg(fd, mm, (unsigned)batch, 0);
    calls++;
    if (r > 0) sent += (unsigned)r;
    else { errors++; lastErrno = errno; }
    t = now();
  }
  printf("{\"sent\":%llu,\"calls\":%llu,\"errors\":%llu,\"lastErrno\":%d,\"seconds\":%.6f,\"cpuUs\":%.0f}\n",
         sent, calls, errors, lastErrno, t - t0, cpu_us());
  return 0;
}

static volatile sig_atomic_t stop;
static void on_term(int s) { (void)s; stop = 1; }

static int do_sink(int argc, char **argv) {
  if (argc < 6) return 2;
  struct sockaddr_in me;
  if (addr(argv[2], argv[3], &me)) return 2;
  double maxSecs = atof(argv[4]);
  double idle = atof(argv[5]) / 1e3;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) { perror("pktgen sink"); return 1; }
  int rb = 4 << 20;
  // SO_RCVBUFFORCE (root) ignores rmem_max: the sink must not be where packets are lost.
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rb, sizeof rb)) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof rb);
  struct timeval tv = { 0, 50000 };
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (bind(fd, (struct sockaddr *)&me, sizeof me)) { perror("pktgen sink bind"); return 1; }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term; // no SA_RESTART: a blocked recvmmsg returns EINTR
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  printf("ready\n");
  fflush(stdout);
  enum { B = 64 };
  static char bufs[B][2048];
  static struct iovec iov[B];
  static struct mmsghdr mm[B];
  for (int i = 0; i < B; i++) {
    iov[i].iov_base = bufs[i];
    iov[i].iov_len = sizeof bufs[i];
    mm[i].msg_hdr.msg_iov = &iov[i];
    mm[i].msg_hdr.msg_iovlen = 1;
  }
  unsigned long long received = 0, calls = 0;
  double t0 = now(), first = 0, last = 0;
  while (!stop) {
    int r = recvmmsg(fd, mm, B, 0, NULL);
    double t = now();
    calls++;
    if (r > 0) {
      if (received == 0) first = t;
      received += (unsigned)r;
      last = t;
    }
    if (t - t0 > maxSecs) break;
    if (received > 0 && t - last > idle) break;
  }
  unsigned int mem[SK_MEMINFO_VARS];
  socklen_t ml = sizeof mem;
  unsigned long long drops = 0;
  if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &ml) == 0 && ml > SK_MEMINFO_DROPS * sizeof mem[0]) drops = mem[SK_MEMINFO_DROPS];
  printf("{\"received\":%llu,\"calls\":%llu,\"drops\":%llu,\"span\":%.6f,\"cpuUs\":%.0f}\n",
         received, calls, drops, received ? last - first : 0.0, cpu_us());
  return 0;
}

int main(int argc, char **argv) {
  int r = 2;
  if (argc > 1 && strcmp(argv[1], "send") == 0) r = do_send(argc, argv);
  else if (argc > 1 && strcmp(argv[1], "sink") == 0) r = do_sink(argc, argv);
  if (r == 2) fprintf(stderr, "usage: pktgen send DST PORT SECS [SIZE] [BATCH] | pktgen sink ADDR PORT MAXSECS IDLE_MS\n");
  return r;
}
