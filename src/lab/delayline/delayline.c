// nettune-delayline: a userspace link emulator ("delay line") between two TUN devices, for
// kernels without netem. Built by scripts/build.mjs as dist/nettune-delayline.
//
//   nettune-delayline --dev-a NAME --dev-b NAME [--delay-us N] [--jitter-us N] [--loss-ppm N]
//                     [--seed N] [--ring-mb N] [--stats-file PATH]
//
// It creates two non-persistent TUN devices (IFF_TUN | IFF_NO_PI | IFF_VNET_HDR, offloads
// CSUM|TSO4|TSO6), prints "ready" on stdout, and forwards A->B and B->A, one thread per
// direction. The caller moves the devices into namespaces (`ip link set NAME netns NS`: the fds
// stay valid), addresses them and brings them up. The devices vanish when the process exits.
//
// Per direction, each packet is timestamped when read (CLOCK_MONOTONIC), and released at
// max(previous release, ts + delay + U[-jitter, +jitter]) (never before ts: no reordering, total
// delay >= 0). --delay-us is one-way: RTT = 2 x delay.
//
// Loss is per TCP segment, not per read: a GSO super-packet (up to ~44 segments of 1448 bytes)
// gets one independent loss draw per segment (own seeded xorshift64* stream, probability
// loss-ppm/1e6). A frame none of whose segments is lost passes whole (the fast path); one whose
// segments are all lost is dropped; otherwise it is split into its segments here (headers copied,
// IPv4 id/tot_len/checksum, IPv6 payload length, TCP seq/flags and the full TCP checksum
// rewritten) and the survivors are queued as plain packets. Dropping whole frames instead made
// "1 % loss" lose ~44 consecutive segments at a time: bursts, not independent per-packet loss.
// The statistics count segments seen, segments lost and loss bursts (runs of consecutive lost
// segments in one direction), so the caller can check the loss rate and the mean burst length
// (1/(1-p) for independent loss) against the request.
// NETTUNE_DELAYLINE_LOSS_MODE (experiments only): "split" (default, above); "notso": when loss or
// jitter is asked for, offload TSO is not offered to the kernel (TUNSETOFFLOAD with TUN_F_CSUM
// only), so the kernel segments before the device and every read is one segment; "frame": the old
// whole-frame drop, kept to show the difference in bench/lab-fidelity.
//
// Design notes (measured on a 2-vCPU KVM guest, kernel 6.18):
// - vnet header: 10 bytes (struct virtio_net_hdr). The 12-byte mrg_rxbuf variant only adds
//   num_buffers, which TUN ignores. With offloads on, the kernel hands over GSO super-packets of
//   up to 64 KB; the header is kept in the ring and written back unchanged, so the receiving
//   side gets the same GSO/checksum-offload packet. A "packet" in the statistics is one such
//   read, i.e. possibly a GSO super-packet; "bytes" excludes the vnet header.
// - The ring is a pool of 2 MB chunks (--ring-mb, rounded up to whole chunks, mmap'ed with
//   MAP_NORESERVE) used as a FIFO of chunks: packets are read straight into the ring (no copy),
//   and memory is only touched up to the peak amount queued. When no chunk is free the packet is
//   read into a scratch buffer and dropped (dropped_full).
// - Waiting: ppoll on the input fd, a stop eventfd and an absolute CLOCK_MONOTONIC timerfd
//   (timerfd has no slack; ppoll's own timeout adds 0.1-0.5 % slack). Timer slack is 1 ns.
//   Guest timers for long sleeps wake late (p90 ~0.5 ms for a 50 ms sleep, seldom several ms),
//   short ones are precise (p50 ~2 us for <= 1 ms): so a wait longer than PREWAKE_NS first
//   sleeps until PREWAKE_NS before the release, then sleeps again for the rest, and the last
//   SPIN_NS are busy-waited (polling the input with non-blocking reads). Nothing spins while no
//   packet is queued, and spinning is capped at 5 % of a core per direction (per 100 ms window):
//   uncapped, bulk traffic at 1 Gbit/s made the two threads spin ~16 % of a core. Measured idle ping RTT at 100 ms: mean excess ~0.2 ms without the
//   two-stage sleep and spin, ~0.02 ms with both; at 1 ms the spin cuts mdev from ~0.2-0.3 ms to
//   ~0.02 ms.
// - Hop compensation: the read timestamp cannot see the time a packet waited between the sender's
//   TUN transmit and our read (thread wake-up, syscalls; the receiver's stack runs inside our
//   write). That costs ~15-30 us per hop on this VM kind (+40-60 us on a 1 ms RTT, i.e. +4-6 %).
//   So a non-zero delay is shortened by COMP_NS_DEFAULT (15 us, never below 0): release =
//   max(prev, ts + max(0, delay - 15 us) + jitter). Zero delay stays pure forwarding.
// - Knobs for experiments only (environment, nanoseconds): NETTUNE_DELAYLINE_SPIN_NS (50000),
//   NETTUNE_DELAYLINE_PREWAKE_NS (1000000), NETTUNE_DELAYLINE_COMP_NS (15000; 0 gives the plain
//   formula).
// - Writes that fail with EAGAIN/ENOBUFS/ENOMEM keep the packet at the head and are retried
//   after an exponential back-off (20 us .. 1 ms); a packet that cannot be written for 1 s is
//   dropped. Other write errors (e.g. EIO while the receiving device is still down) drop the
//   packet; both are counted as dropped_error in the statistics.
//
// Exit codes: 0 clean (SIGTERM/SIGINT/SIGHUP), 2 bad arguments, 3 TUN/ioctl/system failure
// (also when a device disappears under the running process, e.g. its namespace was deleted).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define VNET_HDR_LEN 10                        // sizeof(struct virtio_net_hdr)
#define MAX_PKT 65536                          // largest (GSO) packet TUN hands over
#define READ_CAP (VNET_HDR_LEN + MAX_PKT + 502) // read buffer: 64 KB + header + slack
#define REC_HDR 16                             // struct rec, keeps records 16-byte aligned
#define ALIGN16(x) (((x) + 15u) & ~(size_t)15u)
#define MAX_REC ALIGN16(REC_HDR + READ_CAP)
#define CHUNK_SIZE ((size_t)2 << 20)
#define BATCH 64
#define SPIN_NS_DEFAULT 50000ull    // busy-wait the last 50 us before a release
#define PREWAKE_NS_DEFAULT 1000000ull // waits longer than this first sleep until 1 ms before
#define SPIN_WINDOW_NS 100000000ull  // spin budget: at most SPIN_BUDGET_PERMILLE of each 100 ms
#define SPIN_BUDGET_PERMILLE 50ull
#define COMP_NS_DEFAULT 15000ull      // unseen per-hop latency taken off a non-zero delay
#define BACKOFF_MIN_NS 20000ull
#define BACKOFF_MAX_NS 1000000ull
#define STUCK_DROP_NS 1000000000ull
#define GSO_NONE 0   // VIRTIO_NET_HDR_GSO_NONE (linux/virtio_net.h)
#define GSO_TCPV4 1
#define GSO_TCPV6 4
#define GSO_ECN 0x80
#define MAX_SEGS 1024 // a 64 KB frame with gso_size >= 64
#define EXIT_ARGS 2
#define EXIT_TUN 3

struct rec {
  uint64_t release_ns;
  uint32_t len; // vnet header + packet
  uint32_t pad;
};

struct dir {
  _Alignas(64) const char *label; // own cache lines: the two threads never share one
  const char *in_name, *out_name;
  int in_fd, out_fd, timer_fd;
  uint64_t delay_ns, jitter_ns, loss_ppm;
  uint64_t rng_loss, rng_jitter;
  // chunk pool and FIFO of chunks
  uint8_t *base;
  uint32_t nchunks, carved, nfree, qhead, qlen;
  uint32_t *free_list, *queue, *fill;
  uint32_t roff; // read offset in the head chunk
  uint8_t *scratch;
  uint64_t last_release;
  // write back-off
  uint64_t retry_at, backoff, stuck_since;
  uint64_t armed; // deadline the timerfd is armed for (0 = disarmed)
  uint64_t spin_window, spin_used, spin_last; // spin CPU budget accounting
  bool warned_write;
  bool in_burst; // the previous segment seen was lost
  uint8_t *split_buf; // copy of a frame being split into segments
  _Atomic uint64_t packets, bytes, dropped_loss, dropped_full, dropped_error;
  // per segment: seen (all reads, a GSO frame counting its segments), loss bursts, frames split
  _Atomic uint64_t segments, loss_bursts, split_frames;
  pthread_t th;
};

enum loss_mode { LOSS_SPLIT, LOSS_NOTSO, LOSS_FRAME };
static enum loss_mode g_loss_mode = LOSS_SPLIT;
static atomic_bool g_stop;
static int g_stop_efd = -1, g_fatal_efd = -1;
static uint64_t g_spin_ns = SPIN_NS_DEFAULT, g_prewake_ns = PREWAKE_NS_DEFAULT;

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static uint64_t xorshift64s(uint64_t *s) {
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545f4914f6cdd1dull;
}

// uniform in [0, n) for n >= 1 (top bits, multiply-shift: no modulo bias worth mentioning)
static uint64_t rng_below(uint64_t *s, uint64_t n) {
  return (uint64_t)(((unsigned __int128)xorshift64s(s) * n) >> 64);
}

static void fatal_from_thread(void) {
  atomic_store(&g_stop, true);
  uint64_t one = 1;
  if (write(g_fatal_efd, &one, sizeof one) < 0) { /* main exits anyway on g_stop */ }
}

// ---- ring of chunks --------------------------------------------------------------------------

static uint8_t *ring_reserve(struct dir *d) {
  if (d->qlen > 0) {
    uint32_t cur = d->queue[(d->qhead + d->qlen - 1) % d->nchunks];
    if (CHUNK_SIZE - d->fill[cur] >= MAX_REC) return d->base + (size_t)cur * CHUNK_SIZE + d->fill[cur];
  }
  uint32_t idx;
  if (d->nfree > 0) idx = d->free_list[--d->nfree];
  else if (d->carved < d->nchunks) idx = d->carved++;
  else return NULL;
  d->queue[(d->qhead + d->qlen) % d->nchunks] = idx;
  d->qlen++;
  d->fill[idx] = 0;
  return d->base + (size_t)idx * CHUNK_SIZE;
}

static void ring_commit(struct dir *d, uint32_t len) {
  uint32_t cur = d->queue[(d->qhead + d->qlen - 1) % d->nchunks];
  d->fill[cur] += (uint32_t)ALIGN16(REC_HDR + len);
}

static struct rec *ring_peek(struct dir *d) {
  while (d->qlen > 0) {
    uint32_t c = d->queue[d->qhead];
    if (d->roff < d->fill[c]) return (struct rec *)(d->base + (size_t)c * CHUNK_SIZE + d->roff);
    // head chunk consumed: give it back (LIFO, so hot chunks are reused first)
    d->free_list[d->nfree++] = c;
    d->qhead = (d->qhead + 1) % d->nchunks;
    d->qlen--;
    d->roff = 0;
  }
  return NULL;
}

static void ring_pop(struct dir *d, const struct rec *r) { d->roff += (uint32_t)ALIGN16(REC_HDR + r->len); }


// ---- per-segment loss -----------------------------------------------------------------------

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static inline void wr32(uint8_t *p, uint32_t v) { wr16(p, (uint16_t)(v >> 16)); wr16(p + 2, (uint16_t)v); }

// One's-complement sum of big-endian 16-bit words (RFC 1071), not yet folded.
static uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t n) {
  for (; n >= 2; p += 2, n -= 2) sum += rd16(p);
  if (n) sum += (uint64_t)p[0] << 8;
  return sum;
}
static uint16_t csum_fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

struct seg_layout {
  uint32_t l3; // 4 or 6
  uint32_t ip_hl, hl; // IP header length; IP + TCP header length
  uint32_t mss, payload, nseg;
};

// Where the segments of a packet (after the vnet header) lie. A non-GSO packet, or one this
// code cannot parse (IPv6 extension headers, non-TCP), is one unit: nseg = 1, split impossible.
static struct seg_layout seg_layout(const uint8_t *vh, const uint8_t *pkt, uint32_t len) {
  struct seg_layout L = {0, 0, 0, 0, 0, 1};
  uint8_t gso = vh[1] & (uint8_t)~GSO_ECN;
  uint16_t gso_size = (uint16_t)(vh[4] | vh[5] << 8); // virtio header: little-endian (x86, no TUNSETVNETLE)
  if (gso == GSO_NONE || gso_size == 0 || len < 20) return L;
  uint8_t ver = pkt[0] >> 4;
  if (gso == GSO_TCPV4 && ver == 4) {
    uint32_t ihl = (uint32_t)(pkt[0] & 0xf) * 4;
    if (ihl < 20 || pkt[9] != 6 || len < ihl + 20) return L;
    L.l3 = 4, L.ip_hl = ihl;
  } else if (gso == GSO_TCPV6 && ver == 6) {
    if (pkt[6] != 6 || len < 60) return L;
    L.l3 = 6, L.ip_hl = 40;
  } else {
    return L;
  }
  uint32_t thl = (uint32_t)(pkt[L.ip_hl + 12] >> 4) * 4;
  if (thl < 20 || len < L.ip_hl + thl) { L.l3 = 0; return L; }
  L.hl = L.ip_hl + thl;
  L.mss = gso_size;
  L.payload = len - L.hl;
  uint32_t n = (L.payload + L.mss - 1) / L.mss;
  if (n < 1 || n > MAX_SEGS) { L.l3 = 0; L.nseg = 1; return L; }
  L.nseg = n;
  return L;
}

// Builds segment i of the frame in src (vnet header + packet) at dst; returns its length
// (vnet header included). The vnet header becomes "no GSO, checksum complete".
static uint32_t build_segment(uint8_t *dst, const uint8_t *src, const struct seg_layout *L, uint32_t i) {
  const uint8_t *pkt = src + VNET_HDR_LEN;
  uint32_t off = i * L->mss;
  uint32_t plen = L->payload - off < L->mss ? L->payload - off : L->mss;
  memset(dst, 0, VNET_HDR_LEN);
  uint8_t *p = dst + VNET_HDR_LEN;
  memcpy(p, pkt, L->hl);
  memcpy(p + L->hl, pkt + L->hl + off, plen);
  uint8_t *th = p + L->ip_hl;
  uint32_t tcp_len = L->hl - L->ip_hl + plen;
  if (L->l3 == 4) {
    wr16(p + 2, (uint16_t)(L->hl + plen));
    wr16(p + 4, (uint16_t)(rd16(p + 4) + i)); // TSO increments the IP id per segment
    wr16(p + 10, 0);
    wr16(p + 10, csum_fold(csum_add(0, p, L->ip_hl)));
  } else {
    wr16(p + 4, (uint16_t)tcp_len);
  }
  wr32(th + 4, rd32(th + 4) + off);
  uint8_t flags = th[13];
  if (i + 1 < L->nseg) flags &= (uint8_t)~0x09; // FIN and PSH only on the last segment
  if (i > 0) flags &= (uint8_t)~0x80;           // CWR only on the first
  th[13] = flags;
  wr16(th + 16, 0);
  uint64_t sum = 0;
  if (L->l3 == 4) sum = csum_add(sum, p + 12, 8); // source and destination
  else sum = csum_add(sum, p + 8, 32);
  sum += 6 + tcp_len;
  sum = csum_add(sum, th, tcp_len);
  uint16_t ck = csum_fold(sum);
  wr16(th + 16, ck ? ck : 0xffff);
  return VNET_HDR_LEN + L->hl + plen;
}

static uint64_t release_time(struct dir *d, uint64_t ts) {
  uint64_t rel = ts + d->delay_ns;
  if (d->jitter_ns) {
    uint64_t j = rng_below(&d->rng_jitter, 2 * d->jitter_ns + 1);
    rel = rel + j >= d->jitter_ns ? rel + j - d->jitter_ns : 0;
    if (rel < ts) rel = ts;
  }
  if (rel < d->last_release) rel = d->last_release; // never reorder
  d->last_release = rel;
  return rel;
}

static void enqueue(struct dir *d, uint8_t *slot, uint32_t n, uint64_t rel) {
  struct rec *r = (struct rec *)slot;
  r->release_ns = rel;
  r->len = n;
  ring_commit(d, n);
}

// One read of n bytes at buf (in the ring when slot != NULL). Returns nothing: the frame is
// queued whole, split, or dropped, and counted.
static void admit(struct dir *d, uint8_t *slot, uint8_t *buf, uint32_t n, uint64_t ts) {
  struct seg_layout L = seg_layout(buf, buf + VNET_HDR_LEN, n - VNET_HDR_LEN);
  atomic_fetch_add_explicit(&d->segments, L.nseg, memory_order_relaxed);
  if (!slot) {
    atomic_fetch_add_explicit(&d->dropped_full, 1, memory_order_relaxed);
    d->in_burst = false;
    return;
  }
  uint64_t lost_mask[MAX_SEGS / 64];
  uint32_t lost = 0;
  if (d->loss_ppm) {
    bool per_frame = g_loss_mode == LOSS_FRAME || L.l3 == 0;
    bool frame_lost = per_frame && rng_below(&d->rng_loss, 1000000) < d->loss_ppm;
    memset(lost_mask, 0, sizeof lost_mask);
    for (uint32_t i = 0; i < L.nseg; i++) {
      bool l = per_frame ? frame_lost : rng_below(&d->rng_loss, 1000000) < d->loss_ppm;
      if (l) {
        lost_mask[i / 64] |= 1ull << (i % 64);
        lost++;
        if (!d->in_burst) atomic_fetch_add_explicit(&d->loss_bursts, 1, memory_order_relaxed);
      }
      d->in_burst = l;
    }
  } else {
    d->in_burst = false;
  }
  if (lost) atomic_fetch_add_explicit(&d->dropped_loss, lost, memory_order_relaxed);
  if (lost == L.nseg) return;
  uint64_t rel = release_time(d, ts);
  if (lost == 0) {
    enqueue(d, slot, n, rel);
    return;
  }
  // some but not all segments lost: queue the survivors one by one
  atomic_fetch_add_explicit(&d->split_frames, 1, memory_order_relaxed);
  memcpy(d->split_buf, buf, n); // the segments are built where the frame was read
  for (uint32_t i = 0; i < L.nseg; i++) {
    if (lost_mask[i / 64] >> (i % 64) & 1) continue;
    uint8_t *s = ring_reserve(d); // the first call returns the frame's own slot again
    if (!s) {
      atomic_fetch_add_explicit(&d->dropped_full, 1, memory_order_relaxed);
      continue;
    }
    enqueue(d, s, build_segment(s + REC_HDR, d->split_buf, &L, i), rel);
  }
}

// ---- forwarding ------------------------------------------------------------------------------

// Reads up to BATCH packets. Returns true when the input is drained (EAGAIN).
static bool read_batch(struct dir *d) {
  for (int i = 0; i < BATCH; i++) {
    uint8_t *slot = ring_reserve(d);
    uint8_t *buf = slot ? slot + REC_HDR : d->scratch;
    ssize_t n = read(d->in_fd, buf, READ_CAP);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      if (errno == EINTR) continue;
      fprintf(stderr, "nettune-delayline: read from %s: %s (device removed?)\n", d->in_name, strerror(errno));
      fatal_from_thread();
      return true;
    }
    uint64_t ts = mono_ns();
    if (n <= VNET_HDR_LEN || n > VNET_HDR_LEN + MAX_PKT) { // runt or truncated
      atomic_fetch_add_explicit(&d->dropped_error, 1, memory_order_relaxed);
      continue;
    }
    admit(d, slot, buf, (uint32_t)n, ts);
  }
  return false;
}

// Writes up to BATCH due packets. Returns true when it stopped for a reason other than the
// batch limit (nothing due, empty, or the output is blocked).
static bool release_batch(struct dir *d, uint64_t now) {
  if (d->retry_at) {
    if (now < d->retry_at) return true;
    d->retry_at = 0;
  }
  for (int i = 0; i < BATCH; i++) {
    struct rec *r = ring_peek(d);
    if (!r) return true;
    if (r->release_ns > now) {
      now = mono_ns(); // writes take time (they run the receiver's stack): look again
      if (r->release_ns > now) return true;
    }
    ssize_t n = write(d->out_fd, (uint8_t *)r + REC_HDR, r->len);
    if (n < 0) {
      int e = errno;
      if (e == EINTR) { i--; continue; }
      if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS || e == ENOMEM) {
        if (!d->stuck_since) d->stuck_since = now;
        if (now - d->stuck_since < STUCK_DROP_NS) {
          d->backoff = d->backoff ? d->backoff * 2 : BACKOFF_MIN_NS;
          if (d->backoff > BACKOFF_MAX_NS) d->backoff = BACKOFF_MAX_NS;
          d->retry_at = now + d->backoff;
          return true;
        }
      }
      // other errors (EIO: device down, EINVAL: malformed), or blocked for too long: drop
      if (e != EIO && !d->warned_write) {
        fprintf(stderr, "nettune-delayline: write to %s: %s (packet dropped; further drops only counted)\n", d->out_name, strerror(e));
        d->warned_write = true;
      }
      atomic_fetch_add_explicit(&d->dropped_error, 1, memory_order_relaxed);
    } else {
      atomic_fetch_add_explicit(&d->packets, 1, memory_order_relaxed);
      atomic_fetch_add_explicit(&d->bytes, r->len - VNET_HDR_LEN, memory_order_relaxed);
    }
    d->stuck_since = 0;
    d->backoff = 0;
    ring_pop(d, r);
  }
  return false;
}

static void arm_timer(struct dir *d, uint64_t at) {
  if (d->armed == at) return;
  struct itimerspec its = {0};
  its.it_value.tv_sec = (time_t)(at / 1000000000ull);
  its.it_value.tv_nsec = (long)(at % 1000000000ull);
  if (at == 0) its.it_value.tv_nsec = 0; // disarm
  if (timerfd_settime(d->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) == 0) d->armed = at;
}

static void *dir_thread(void *arg) {
  struct dir *d = arg;
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  struct pollfd pfd[3] = {
      {.fd = d->in_fd, .events = POLLIN},
      {.fd = g_stop_efd, .events = POLLIN},
      {.fd = d->timer_fd, .events = POLLIN},
  };
  while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
    bool rel_done = release_batch(d, mono_ns());
    bool read_done = read_batch(d);
    if (!rel_done || !read_done) continue;
    uint64_t now = mono_ns();
    uint64_t deadline = 0;
    struct rec *r = ring_peek(d);
    if (r) deadline = r->release_ns > d->retry_at ? r->release_ns : d->retry_at;
    if (deadline && deadline <= now) continue;
    // spin for the last bit, within a CPU budget (bulk traffic would otherwise spin all the time)
    if (now - d->spin_window >= SPIN_WINDOW_NS) {
      d->spin_window = now;
      d->spin_used = 0;
    }
    if (d->spin_last) d->spin_used += now - d->spin_last;
    bool may_spin = d->spin_used < SPIN_WINDOW_NS / 1000 * SPIN_BUDGET_PERMILLE;
    if (deadline && deadline <= now + g_spin_ns && may_spin) {
      d->spin_last = now;
      continue;
    }
    d->spin_last = 0;
    uint64_t wake = 0;
    if (deadline) {
      uint64_t spin = may_spin ? g_spin_ns : 0;
      wake = deadline - spin;
      if (deadline - now > g_prewake_ns + spin) wake = deadline - g_prewake_ns; // two-stage
    }
    arm_timer(d, wake);
    int pr = ppoll(pfd, 3, NULL, NULL);
    if (pr < 0) {
      if (errno == EINTR) continue;
      fprintf(stderr, "nettune-delayline: ppoll: %s\n", strerror(errno));
      fatal_from_thread();
      break;
    }
    if (pfd[2].revents & POLLIN) {
      uint64_t ticks;
      if (read(d->timer_fd, &ticks, sizeof ticks) < 0) { /* EAGAIN: already consumed */ }
      d->armed = 0;
    }
    if (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
      fprintf(stderr, "nettune-delayline: %s: device gone (poll revents 0x%x)\n", d->in_name, pfd[0].revents);
      fatal_from_thread();
      break;
    }
  }
  return NULL;
}

// ---- set-up ----------------------------------------------------------------------------------

static int tun_create(const char *name, bool tso) {
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    fprintf(stderr, "nettune-delayline: open /dev/net/tun: %s\n", strerror(errno));
    return -1;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
  memcpy(ifr.ifr_name, name, strlen(name));
  int hdr = VNET_HDR_LEN;
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    fprintf(stderr, "nettune-delayline: TUNSETIFF %s: %s\n", name, strerror(errno));
  } else if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
    fprintf(stderr, "nettune-delayline: TUNSETVNETHDRSZ %s: %s\n", name, strerror(errno));
  } else if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | (tso ? TUN_F_TSO4 | TUN_F_TSO6 : 0))) < 0) {
    fprintf(stderr, "nettune-delayline: TUNSETOFFLOAD %s: %s\n", name, strerror(errno));
  } else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
    fprintf(stderr, "nettune-delayline: O_NONBLOCK %s: %s\n", name, strerror(errno));
  } else if (strcmp(ifr.ifr_name, name) != 0) {
    fprintf(stderr, "nettune-delayline: TUNSETIFF %s: kernel named it %s\n", name, ifr.ifr_name);
  } else {
    return fd;
  }
  close(fd);
  return -1;
}

static int dir_init(struct dir *d, uint64_t ring_bytes) {
  d->nchunks = (uint32_t)((ring_bytes + CHUNK_SIZE - 1) / CHUNK_SIZE);
  size_t len = (size_t)d->nchunks * CHUNK_SIZE;
  d->base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (d->base == MAP_FAILED) {
    fprintf(stderr, "nettune-delayline: mmap %zu bytes for the ring: %s\n", len, strerror(errno));
    return -1;
  }
  madvise(d->base, len, MADV_HUGEPAGE); // best effort
  d->free_list = calloc(d->nchunks, sizeof(uint32_t));
  d->queue = calloc(d->nchunks, sizeof(uint32_t));
  d->fill = calloc(d->nchunks, sizeof(uint32_t));
  d->scratch = malloc(READ_CAP);
  d->split_buf = malloc(READ_CAP);
  d->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (!d->free_list || !d->queue || !d->fill || !d->scratch || !d->split_buf || d->timer_fd < 0) {
    fprintf(stderr, "nettune-delayline: allocating the ring: %s\n", strerror(errno));
    return -1;
  }
  return 0;
}

static bool write_stats(const char *path, struct dir *dirs) {
  char buf[2048];
  int n = 0;
  n += snprintf(buf + n, sizeof buf - (size_t)n, "{");
  for (int i = 0; i < 2; i++) {
    struct dir *d = &dirs[i];
    n += snprintf(buf + n, sizeof buf - (size_t)n,
                  "%s\"%s\":{\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"dropped_loss\":%" PRIu64
                  ",\"dropped_full\":%" PRIu64 ",\"dropped_error\":%" PRIu64 ",\"segments\":%" PRIu64
                  ",\"loss_bursts\":%" PRIu64 ",\"split_frames\":%" PRIu64 "}",
                  i ? "," : "", d->label, atomic_load(&d->packets), atomic_load(&d->bytes),
                  atomic_load(&d->dropped_loss), atomic_load(&d->dropped_full), atomic_load(&d->dropped_error),
                  atomic_load(&d->segments), atomic_load(&d->loss_bursts), atomic_load(&d->split_frames));
  }
  n += snprintf(buf + n, sizeof buf - (size_t)n, ",\"loss_mode\":\"%s\"}\n", g_loss_mode == LOSS_SPLIT ? "split" : g_loss_mode == LOSS_NOTSO ? "notso" : "frame");
  if (!path) {
    fputs(buf, stderr);
    return true;
  }
  char tmp[4200];
  if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) return false;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  bool ok = write(fd, buf, (size_t)n) == n;
  ok = close(fd) == 0 && ok;
  if (ok && rename(tmp, path) == 0) return true;
  unlink(tmp);
  return false;
}

static void usage(FILE *f) {
  fputs("usage: nettune-delayline --dev-a NAME --dev-b NAME [--delay-us N] [--jitter-us N]\n"
        "                         [--loss-ppm N] [--seed N] [--ring-mb N] [--stats-file PATH]\n",
        f);
}

static bool valid_name(const char *s) {
  size_t n = strlen(s);
  if (n < 1 || n > 15) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out) {
  if (!s || !*s) return false;
  uint64_t v = 0;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9') return false;
    unsigned digit = (unsigned)(*p - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  if (v > max) return false;
  *out = v;
  return true;
}

static uint64_t env_u64(const char *name, uint64_t def) {
  const char *s = getenv(name);
  uint64_t v;
  return s && parse_u64(s, 1000000000ull, &v) ? v : def;
}

int main(int argc, char **argv) {
  const char *dev_a = NULL, *dev_b = NULL, *stats_path = NULL;
  uint64_t delay_us = 0, jitter_us = 0, loss_ppm = 0, seed = 1, ring_mb = 512;
  static const struct option opts[] = {
      {"dev-a", required_argument, NULL, 'a'},     {"dev-b", required_argument, NULL, 'b'},
      {"delay-us", required_argument, NULL, 'd'},  {"jitter-us", required_argument, NULL, 'j'},
      {"loss-ppm", required_argument, NULL, 'l'},  {"seed", required_argument, NULL, 's'},
      {"ring-mb", required_argument, NULL, 'r'},   {"stats-file", required_argument, NULL, 'f'},
      {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
  };
  int c;
  opterr = 1;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    bool ok = true;
    switch (c) {
    case 'a': dev_a = optarg; break;
    case 'b': dev_b = optarg; break;
    case 'd': ok = parse_u64(optarg, 60000000ull, &delay_us); break;
    case 'j': ok = parse_u64(optarg, 60000000ull, &jitter_us); break;
    case 'l': ok = parse_u64(optarg, 1000000ull, &loss_ppm); break;
    case 's': ok = parse_u64(optarg, UINT64_MAX, &seed); break;
    case 'r': ok = parse_u64(optarg, 65536ull, &ring_mb) && ring_mb >= 1; break;
    case 'f': stats_path = optarg; ok = *optarg != '\0' && strlen(optarg) < 4096; break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return EXIT_ARGS;
    }
    if (!ok) {
      const char *name = "?";
      for (const struct option *o = opts; o->name; o++)
        if (o->val == c) name = o->name;
      fprintf(stderr, "nettune-delayline: bad value for --%s: '%s'%s\n", name, optarg,
              c == 'l' ? " (0..1000000)" : c == 'r' ? " (1..65536)" : c == 'd' || c == 'j' ? " (0..60000000)" : "");
      return EXIT_ARGS;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "nettune-delayline: unexpected argument '%s'\n", argv[optind]);
    usage(stderr);
    return EXIT_ARGS;
  }
  if (!dev_a || !dev_b) {
    fputs("nettune-delayline: --dev-a and --dev-b are required\n", stderr);
    usage(stderr);
    return EXIT_ARGS;
  }
  if (!valid_name(dev_a) || !valid_name(dev_b)) {
    fprintf(stderr, "nettune-delayline: bad device name '%s': 1-15 characters of [A-Za-z0-9_.-]\n", valid_name(dev_a) ? dev_b : dev_a);
    return EXIT_ARGS;
  }
  if (strcmp(dev_a, dev_b) == 0) {
    fputs("nettune-delayline: --dev-a and --dev-b must differ\n", stderr);
    return EXIT_ARGS;
  }
  g_spin_ns = env_u64("NETTUNE_DELAYLINE_SPIN_NS", SPIN_NS_DEFAULT);       // for bench/experiments
  g_prewake_ns = env_u64("NETTUNE_DELAYLINE_PREWAKE_NS", PREWAKE_NS_DEFAULT);
  uint64_t comp_ns = env_u64("NETTUNE_DELAYLINE_COMP_NS", COMP_NS_DEFAULT);
  const char *lm = getenv("NETTUNE_DELAYLINE_LOSS_MODE");
  if (lm && strcmp(lm, "notso") == 0) g_loss_mode = LOSS_NOTSO;
  else if (lm && strcmp(lm, "frame") == 0) g_loss_mode = LOSS_FRAME;
  else if (lm && *lm && strcmp(lm, "split") != 0) {
    fprintf(stderr, "nettune-delayline: NETTUNE_DELAYLINE_LOSS_MODE must be split, notso or frame, not '%s'\n", lm);
    return EXIT_ARGS;
  }
  bool tso = !(g_loss_mode == LOSS_NOTSO && (loss_ppm || jitter_us));

  // Signals: handled synchronously by the main thread through a signalfd; threads inherit the mask.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  sigaddset(&mask, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &mask, NULL);
  signal(SIGPIPE, SIG_IGN);
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  g_stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  g_fatal_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (sfd < 0 || g_stop_efd < 0 || g_fatal_efd < 0) {
    fprintf(stderr, "nettune-delayline: signalfd/eventfd: %s\n", strerror(errno));
    return EXIT_TUN;
  }

  int fd_a = tun_create(dev_a, tso);
  if (fd_a < 0) return EXIT_TUN;
  int fd_b = tun_create(dev_b, tso);
  if (fd_b < 0) return EXIT_TUN;

  static struct dir dirs[2];
  uint64_t s = seed;
  for (int i = 0; i < 2; i++) {
    struct dir *d = &dirs[i];
    d->label = i == 0 ? "a_to_b" : "b_to_a";
    d->in_name = i == 0 ? dev_a : dev_b;
    d->out_name = i == 0 ? dev_b : dev_a;
    d->in_fd = i == 0 ? fd_a : fd_b;
    d->out_fd = i == 0 ? fd_b : fd_a;
    d->delay_ns = delay_us * 1000ull > comp_ns ? delay_us * 1000ull - comp_ns : 0;
    d->jitter_ns = jitter_us * 1000ull;
    d->loss_ppm = loss_ppm;
    do d->rng_loss = splitmix64(&s); while (!d->rng_loss);
    do d->rng_jitter = splitmix64(&s); while (!d->rng_jitter);
    if (dir_init(d, ring_mb << 20) < 0) return EXIT_TUN;
  }
  for (int i = 0; i < 2; i++) {
    int e = pthread_create(&dirs[i].th, NULL, dir_thread, &dirs[i]);
    if (e) {
      fprintf(stderr, "nettune-delayline: pthread_create: %s\n", strerror(e));
      return EXIT_TUN;
    }
  }
  if (fputs("ready\n", stdout) < 0 || fflush(stdout) != 0) { /* caller went away: keep running */ }

  int rc = 0;
  bool warned = false;
  struct pollfd pfd[2] = {{.fd = sfd, .events = POLLIN}, {.fd = g_fatal_efd, .events = POLLIN}};
  uint64_t next_stats = mono_ns() + 1000000000ull;
  for (;;) {
    int timeout = -1;
    if (stats_path) {
      uint64_t now = mono_ns();
      timeout = next_stats > now ? (int)((next_stats - now + 999999) / 1000000) : 0;
    }
    int pr = poll(pfd, 2, timeout);
    if (pr < 0 && errno != EINTR) {
      fprintf(stderr, "nettune-delayline: poll: %s\n", strerror(errno));
      rc = EXIT_TUN;
      break;
    }
    if (pr > 0 && (pfd[1].revents & POLLIN)) {
      rc = EXIT_TUN;
      break;
    }
    bool dump = false, quit = false;
    if (pr > 0 && (pfd[0].revents & POLLIN)) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGUSR1) dump = true;
        else quit = true;
      }
    }
    if (quit) break;
    if (stats_path && mono_ns() >= next_stats) {
      dump = true;
      next_stats += 1000000000ull;
      if (next_stats < mono_ns()) next_stats = mono_ns() + 1000000000ull;
    }
    if (dump && !write_stats(stats_path, dirs) && !warned) {
      fprintf(stderr, "nettune-delayline: cannot write %s: %s\n", stats_path, strerror(errno));
      warned = true;
    }
  }

  atomic_store(&g_stop, true);
  uint64_t one = 1;
  if (write(g_stop_efd, &one, sizeof one) < 0) { /* threads also check g_stop */ }
  for (int i = 0; i < 2; i++) pthread_join(dirs[i].th, NULL);
  if (stats_path) write_stats(stats_path, dirs);
  close(fd_a); // non-persistent: the devices are unregistered here
  close(fd_b);
  return rc;
}
