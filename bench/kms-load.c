/*
 * kms-load: the load generator of bench/host.ts, in C so that on a 2-core machine it leaves (almost) a whole core
 * to the host under test. The Node generator of bench/host.ts spends about 250 µs of CPU per exchange (a new
 * net.Socket, promises, buffers), so on two cores it cannot offer much more than ~4,000 exchanges/s whatever the
 * host does; this one spends a few tens of µs (one epoll loop, no allocation per exchange).
 *
 * It does nothing KMS-specific: the PDUs are built (and the sampled responses verified) by bench/host.ts.
 * Per exchange, like a Windows client: connect, send the bind, read one PDU (must be bind_ack, type 12), send the
 * next request, read one PDU (must be response, type 2, call_id 2), close. `--clients` exchanges run at once.
 *
 *   kms-load --port P --clients N --warmup-ms W --measure-ms M --bind FILE --requests FILE
 *            [--sample-every K --sample-out FILE]
 *
 * FILE contents are raw PDUs; the requests file holds several back to back (each PDU's frag_length, u16 LE at
 * offset 8, gives its size). Every K-th measured response is written to the sample file as "<request index> <hex>"
 * per line. The result is one JSON line on stdout:
 *   {"exchanges":N,"seconds":S,"p50":ms,"p99":ms,"max":ms,"cpuMs":ms,"errors":N,"firstError":"..."}
 * An error (refused connection, reset, unexpected PDU) ends that exchange, is counted, and the client goes on;
 * bench/host.ts treats any error as a failed run.
 *
 * Loopback only by construction: it connects to 127.0.0.1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PDU 4096
#define MAX_CLIENTS 1024

enum phase { CONNECTING, WAIT_BIND_ACK, WAIT_RESPONSE };

struct client {
  int fd;
  enum phase phase;
  size_t request; /* index into the request pool */
  double started; /* ms, monotonic */
  size_t have;
  uint8_t buf[MAX_PDU];
};

static struct {
  int port;
  int clients;
  long warmup_ms;
  long measure_ms;
  const char *bind_file;
  const char *requests_file;
  long sample_every;
  const char *sample_out;
} opt = {0, 16, 1000, 5000, NULL, NULL, 0, NULL};

static uint8_t *bind_pdu;
static size_t bind_len;
static uint8_t **requests;
static size_t *request_len;
static size_t request_count;
static size_t next_request;

static double *latencies;
static size_t latency_count, latency_cap;
static long errors;
static char first_error[200];
static int measuring;
static FILE *sample_file;
static long measured_since_sample;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static uint8_t *read_file(const char *name, size_t *len) {
  FILE *f = fopen(name, "rb");
  if (!f) {
    fprintf(stderr, "kms-load: cannot open %s: %s\n", name, strerror(errno));
    exit(2);
  }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *data = malloc(size > 0 ? (size_t)size : 1);
  if (!data || fread(data, 1, (size_t)size, f) != (size_t)size) {
    fprintf(stderr, "kms-load: cannot read %s\n", name);
    exit(2);
  }
  fclose(f);
  *len = (size_t)size;
  return data;
}

static size_t frag_length(const uint8_t *pdu) { return (size_t)pdu[8] | ((size_t)pdu[9] << 8); }

static void load_requests(void) {
  size_t len;
  uint8_t *all = read_file(opt.requests_file, &len);
  size_t cap = 64;
  requests = malloc(cap * sizeof *requests);
  request_len = malloc(cap * sizeof *request_len);
  for (size_t at = 0; at + 16 <= len;) {
    size_t n = frag_length(all + at);
    if (n < 16 || at + n > len) {
      fprintf(stderr, "kms-load: bad PDU at offset %zu of %s\n", at, opt.requests_file);
      exit(2);
    }
    if (request_count == cap) {
      cap *= 2;
      requests = realloc(requests, cap * sizeof *requests);
      request_len = realloc(request_len, cap * sizeof *request_len);
    }
    requests[request_count] = all + at;
    request_len[request_count++] = n;
    at += n;
  }
  if (request_count == 0) {
    fprintf(stderr, "kms-load: no request PDU in %s\n", opt.requests_file);
    exit(2);
  }
}

static void note_error(const char *what) {
  if (errors++ == 0) snprintf(first_error, sizeof first_error, "%s", what);
}

/* Loopback sends of a few hundred bytes complete at once; a short write would be a surprise worth reporting. */
static int send_all(int fd, const uint8_t *data, size_t len) {
  ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
  return n == (ssize_t)len ? 0 : -1;
}

static void start_exchange(int ep, struct client *c) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) {
    perror("kms-load: socket");
    exit(2);
  }
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port)};
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  c->phase = CONNECTING;
  c->have = 0;
  c->request = next_request++ % request_count;
  c->started = now_ms();
  if (connect(c->fd, (struct sockaddr *)&to, sizeof to) < 0 && errno != EINPROGRESS) {
    note_error(strerror(errno));
  }
  struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.ptr = c};
  epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void end_exchange(int ep, struct client *c, int ok) {
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  if (ok && measuring) {
    double ms = now_ms() - c->started;
    if (latency_count == latency_cap) {
      latency_cap = latency_cap ? latency_cap * 2 : 65536;
      latencies = realloc(latencies, latency_cap * sizeof *latencies);
    }
    latencies[latency_count++] = ms;
    if (sample_file && ++measured_since_sample >= opt.sample_every) {
      measured_since_sample = 0;
      fprintf(sample_file, "%zu ", c->request);
      for (size_t i = 0; i < c->have; i++) fprintf(sample_file, "%02x", c->buf[i]);
      fputc('\n', sample_file);
    }
  }
  start_exchange(ep, c);
}

static void on_event(int ep, struct client *c, uint32_t events) {
  if (c->phase == CONNECTING) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
      note_error(err ? strerror(err) : "connect failed");
      end_exchange(ep, c, 0);
      return;
    }
    if (send_all(c->fd, bind_pdu, bind_len) < 0) {
      note_error("short write of the bind");
      end_exchange(ep, c, 0);
      return;
    }
    c->phase = WAIT_BIND_ACK;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    return;
  }
  for (;;) {
    ssize_t n = recv(c->fd, c->buf + c->have, MAX_PDU - c->have, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      note_error(n == 0 ? "connection closed before the reply" : strerror(errno));
      end_exchange(ep, c, 0);
      return;
    }
    c->have += (size_t)n;
    if (c->have < 16 || c->have < frag_length(c->buf)) {
      if (c->have == MAX_PDU) {
        note_error("reply larger than 4096 bytes");
        end_exchange(ep, c, 0);
        return;
      }
      continue;
    }
    if (c->phase == WAIT_BIND_ACK) {
      if (c->buf[2] != 12) {
        note_error("expected bind_ack");
        end_exchange(ep, c, 0);
        return;
      }
      c->have = 0;
      c->phase = WAIT_RESPONSE;
      if (send_all(c->fd, requests[c->request], request_len[c->request]) < 0) {
        note_error("short write of the request");
        end_exchange(ep, c, 0);
      }
      return;
    }
    uint32_t call_id = (uint32_t)c->buf[12] | ((uint32_t)c->buf[13] << 8) | ((uint32_t)c->buf[14] << 16) | ((uint32_t)c->buf[15] << 24);
    if (c->buf[2] != 2 || call_id != 2) {
      note_error("expected a response with call_id 2");
      end_exchange(ep, c, 0);
      return;
    }
    end_exchange(ep, c, 1);
    return;
  }
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double percentile(double p) {
  if (latency_count == 0) return 0;
  size_t i = (size_t)(p / 100.0 * (double)latency_count);
  return latencies[i < latency_count ? i : latency_count - 1];
}

static double cpu_ms(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 + (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}

static void usage(void) {
  fprintf(stderr, "usage: kms-load --port P --bind FILE --requests FILE [--clients N] [--warmup-ms W] [--measure-ms M] [--sample-every K --sample-out FILE]\n");
  exit(2);
}

int main(int argc, char **argv) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (!strcmp(k, "--port")) opt.port = atoi(v);
    else if (!strcmp(k, "--clients")) opt.clients = atoi(v);
    else if (!strcmp(k, "--warmup-ms")) opt.warmup_ms = atol(v);
    else if (!strcmp(k, "--measure-ms")) opt.measure_ms = atol(v);
    else if (!strcmp(k, "--bind")) opt.bind_file = v;
    else if (!strcmp(k, "--requests")) opt.requests_file = v;
    else if (!strcmp(k, "--sample-every")) opt.sample_every = atol(v);
    else if (!strcmp(k, "--sample-out")) opt.sample_out = v;
    else usage();
  }
  if (argc % 2 == 0 || opt.port <= 0 || opt.port > 65535 || !opt.bind_file || !opt.requests_file || opt.clients < 1 || opt.clients > MAX_CLIENTS) usage();
  bind_pdu = read_file(opt.bind_file, &bind_len);
  load_requests();
  if (opt.sample_out && opt.sample_every > 0) sample_file = fopen(opt.sample_out, "w");

  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct client *clients = calloc((size_t)opt.clients, sizeof *clients);
  for (int i = 0; i < opt.clients; i++) start_exchange(ep, &clients[i]);

  double begin = now_ms(), measure_from = begin + (double)opt.warmup_ms, measure_to = measure_from + (double)opt.measure_ms;
  double cpu_from = 0;
  struct epoll_event events[MAX_CLIENTS];
  for (;;) {
    double t = now_ms();
    if (!measuring && t >= measure_from && t < measure_to) {
      measuring = 1;
      cpu_from = cpu_ms();
      measure_from = t;
    }
    if (t >= measure_to) break;
    int n = epoll_wait(ep, events, MAX_CLIENTS, 10);
    for (int i = 0; i < n; i++) on_event(ep, events[i].data.ptr, events[i].events);
  }
  double seconds = (now_ms() - measure_from) / 1e3;
  double cpu = cpu_ms() - cpu_from;
  measuring = 0;
  if (sample_file) fclose(sample_file);
  qsort(latencies, latency_count, sizeof *latencies, by_value);
  /* first_error holds strerror() text or our own messages: no quotes or backslashes to escape */
  printf("{\"exchanges\":%zu,\"seconds\":%.4f,\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f,\"cpuMs\":%.1f,\"errors\":%ld,\"firstError\":\"%s\"}\n",
         latency_count, seconds, percentile(50), percentile(99), latency_count ? latencies[latency_count - 1] : 0.0, cpu, errors, first_error);
  return 0;
}
