// Load generator for bench/load.js: sends statsd lines over UDP to a host and
// port, N lines per datagram, at a target rate or flat out, with sendmmsg(2)
// so one core can out-send the daemon under test (a Node sender tops out
// near 0.35M datagrams/s per thread, about the daemon's own ceiling).
//
// Mix per line: counters 60%, timers 25%, gauges 10%, sets 5%, over K series.
// Prints one JSON line with what was sent, for the exactness check.
//
// Usage: sender <host> <port> <lines> <lines-per-datagram> <series> <lines-per-sec|0> <max-seconds> [prefix]
// Names are <prefix>.c<n>, <prefix>.t<n>, … (prefix "bench" by default).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
/* Source sockets, each its own port. The kernel spreads datagrams over a daemon's SO_REUSEPORT
   sockets by a hash of the source, one sender port to one socket: with 8 ports two receive
   threads often got 5/8 or 6/8 of the load, where a daemon serving many hosts sees the even
   spread that 256 give (within a few percent). */
#define SOURCES 256
#define MAX_DATAGRAM 1432

static double now_sec(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 8 && argc != 9) {
    fprintf(stderr, "usage: sender host port lines lines-per-datagram series lines-per-sec max-seconds [prefix]\n");
    return 2;
  }
  const char *host = argv[1];
  int port = atoi(argv[2]);
  long long total_lines = atoll(argv[3]);
  int per_datagram = atoi(argv[4]);
  long series = atol(argv[5]);
  double rate = atof(argv[6]);
  double max_seconds = atof(argv[7]);
  const char *prefix = argc == 9 ? argv[8] : "bench";
  if (per_datagram < 1 || series < 20 || total_lines < 1 || strlen(prefix) > 32) {
    fprintf(stderr, "sender: lines-per-datagram >= 1, series >= 20, lines >= 1, prefix of at most 32 bytes\n");
    return 2;
  }

  // A pool of datagrams that visits every series, cycled while sending.
  long pool_lines = series * 2;
  if (pool_lines < per_datagram * 64) pool_lines = per_datagram * 64;
  long pool_size = (pool_lines + per_datagram - 1) / per_datagram;
  char *pool = malloc((size_t)pool_size * MAX_DATAGRAM);
  int *lengths = malloc(sizeof(int) * (size_t)pool_size);
  // Per datagram: counter sum, timer count and sum, gauge and set lines, for the exactness check.
  long long *counter_sums = calloc((size_t)pool_size, sizeof(long long));
  long long *timer_counts = calloc((size_t)pool_size, sizeof(long long));
  long long *timer_sums = calloc((size_t)pool_size, sizeof(long long));
  uint64_t state = 0x9E3779B97F4A7C15ull;
  long line_index = 0;
  for (long d = 0; d < pool_size; d++) {
    char *out = pool + d * MAX_DATAGRAM;
    int length = 0;
    for (int l = 0; l < per_datagram; l++, line_index++) {
      long s = line_index % series;
      int kind = (int)(s % 20);  // 0-11 counter, 12-16 timer, 17-18 gauge, 19 set
      state ^= state << 13; state ^= state >> 7; state ^= state << 17;
      int value = (int)(state % 1000) + 1;
      char line[96];
      int n;
      if (kind < 12) {
        n = snprintf(line, sizeof line, "%s.c%ld:%d|c", prefix, s, value % 10 + 1);
        counter_sums[d] += value % 10 + 1;
      } else if (kind < 17) {
        n = snprintf(line, sizeof line, "%s.t%ld:%d|ms", prefix, s, value);
        timer_counts[d]++;
        timer_sums[d] += value;
      } else if (kind < 19) {
        n = snprintf(line, sizeof line, "%s.g%ld:%d|g", prefix, s, value);
      } else {
        n = snprintf(line, sizeof line, "%s.s%ld:u%d|s", prefix, s, value % 50);
      }
      if (length + n + 1 > MAX_DATAGRAM) {
        fprintf(stderr, "sender: %d lines do not fit in %d bytes\n", per_datagram, MAX_DATAGRAM);
        return 2;
      }
      if (l > 0) out[length++] = '\n';
      memcpy(out + length, line, (size_t)n);
      length += n;
    }
    lengths[d] = length;
  }

  /* Several source ports, taken in turn per batch: a daemon receiving on several
     SO_REUSEPORT sockets gets datagrams spread by the kernel's hash of the source. */
  int fds[SOURCES];
  for (int i = 0; i < SOURCES; i++) {
    fds[i] = socket(AF_INET, SOCK_DGRAM, 0);
    int sndbuf = 8 << 20;
    setsockopt(fds[i], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  }
  struct sockaddr_in to = {0};
  to.sin_family = AF_INET;
  to.sin_port = htons((uint16_t)port);
  inet_pton(AF_INET, host, &to.sin_addr);

  struct mmsghdr messages[BATCH];
  struct iovec iovecs[BATCH];
  long long datagrams_to_send = (total_lines + per_datagram - 1) / per_datagram;
  long long sent = 0, counter_sum = 0, timer_count = 0, timer_sum = 0;
  long next = 0;
  unsigned long round = 0;
  double started = now_sec();
  while (sent < datagrams_to_send) {
    double elapsed = now_sec() - started;
    if (elapsed > max_seconds) break;
    if (rate > 0) {
      double due = (double)(sent * per_datagram) / rate;
      if (due > elapsed) {
        double wait = due - elapsed;
        struct timespec pause = {(time_t)wait, (long)((wait - (time_t)wait) * 1e9)};
        nanosleep(&pause, NULL);
      }
    }
    int batch = 0;
    for (; batch < BATCH && sent + batch < datagrams_to_send; batch++) {
      long d = (next + batch) % pool_size;
      iovecs[batch].iov_base = pool + d * MAX_DATAGRAM;
      iovecs[batch].iov_len = (size_t)lengths[d];
      memset(&messages[batch], 0, sizeof messages[batch]);
      messages[batch].msg_hdr.msg_name = &to;
      messages[batch].msg_hdr.msg_namelen = sizeof to;
      messages[batch].msg_hdr.msg_iov = &iovecs[batch];
      messages[batch].msg_hdr.msg_iovlen = 1;
    }
    int done = sendmmsg(fds[round++ % SOURCES], messages, (unsigned)batch, 0);
    if (done <= 0) continue;  // a full send buffer: try again
    for (int i = 0; i < done; i++) {
      long d = (next + i) % pool_size;
      counter_sum += counter_sums[d];
      timer_count += timer_counts[d];
      timer_sum += timer_sums[d];
    }
    sent += done;
    next = (next + done) % pool_size;
  }
  double seconds = now_sec() - started;
  printf("{\"datagrams\":%lld,\"lines\":%lld,\"seconds\":%.6f,\"counterSum\":%lld,\"timerCount\":%lld,\"timerSum\":%lld}\n",
         sent, sent * per_datagram, seconds, counter_sum, timer_count, timer_sum);
  return 0;
}
