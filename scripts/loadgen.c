/* A gRPC load generator for the benchmarks, on libnghttp2 (the library h2load is built on).
 *
 * h2load sends one request body per process, so a benchmark driven by it serves a handful
 * of users, and it counts any HTTP 200 as a success. This sends each call the next of many
 * pre-encoded gRPC frames (thousands of users) and reads every answer's grpc-status.
 *
 *   loadgen HOST PORT SECONDS WARMUP LOAD...      (LOAD = name,path,frames_file,inflight,rate)
 *
 * `frames_file` holds gRPC frames back to back (flag, 4-byte length, message), sent in turn.
 * rate > 0 offers that many calls per second (open loop: latency counts from when each call
 * was due, so a server that falls behind cannot hide its queue; at most `inflight` calls are
 * outstanding, the rest are counted as not sent); rate 0 keeps `inflight` calls going
 * (closed loop). Each load has its own connections, one per call in flight up to 16 (the
 * kernel spreads connections over the processes sharing a port, so a few would leave one
 * worker idle), each call on the one with the fewest calls in flight. Calls due after the
 * warm-up and answered before the end are counted.
 *
 * Prints JSON: {"seconds": S, "loads": {name: {"latencies_us": [...], "outcomes": {...}}}},
 * latencies for calls answered with grpc-status 0. One thread, one epoll-free poll loop:
 * the generator shares the cores with the server, so it must cost little.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_LOADS 64
#define MAX_CONNS 512
#define MAX_CONNS_PER_LOAD 16
#define OUTCOMES 24

typedef struct {
  char name[64];
  char path[128];
  uint8_t *data;
  size_t *offsets, *lengths;
  size_t frames, next_frame;
  int inflight, pending;
  double rate, next_due;
  int64_t *latencies;
  size_t count, capacity;
  char outcome_names[OUTCOMES][32];
  long outcome_counts[OUTCOMES];
} Load;

typedef struct {
  int fd;
  nghttp2_session *session;
  Load *load;
  int active;
} Conn;

typedef struct {
  Load *load;
  Conn *conn;
  double due;
  int status, grpc;
  const uint8_t *body;
  size_t length, sent;
} Call;

static Load loads[MAX_LOADS];
static int load_count;
static Conn conns[MAX_CONNS];
static int conn_count;
static double count_from, stop_at;

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void count_outcome(Load *load, const char *name) {
  for (int i = 0; i < OUTCOMES; i++) {
    if (load->outcome_names[i][0] == 0) {
      snprintf(load->outcome_names[i], sizeof load->outcome_names[i], "%s", name);
    }
    if (strcmp(load->outcome_names[i], name) == 0) {
      load->outcome_counts[i]++;
      return;
    }
  }
}

static void read_frames(Load *load, const char *file) {
  FILE *in = fopen(file, "rb");
  if (!in) { perror(file); exit(2); }
  fseek(in, 0, SEEK_END);
  long size = ftell(in);
  fseek(in, 0, SEEK_SET);
  load->data = malloc(size);
  if (fread(load->data, 1, size, in) != (size_t)size) { perror(file); exit(2); }
  fclose(in);
  size_t capacity = 1024;
  load->offsets = malloc(capacity * sizeof(size_t));
  load->lengths = malloc(capacity * sizeof(size_t));
  for (size_t at = 0; at + 5 <= (size_t)size;) {
    size_t length = 5 + ((size_t)load->data[at + 1] << 24 | (size_t)load->data[at + 2] << 16 |
                         (size_t)load->data[at + 3] << 8 | load->data[at + 4]);
    if (load->frames == capacity) {
      capacity *= 2;
      load->offsets = realloc(load->offsets, capacity * sizeof(size_t));
      load->lengths = realloc(load->lengths, capacity * sizeof(size_t));
    }
    load->offsets[load->frames] = at;
    load->lengths[load->frames++] = length;
    at += length;
  }
  if (!load->frames) { fprintf(stderr, "%s: no frames\n", file); exit(2); }
}

static ssize_t send_cb(nghttp2_session *s, const uint8_t *data, size_t length, int flags,
                       void *user) {
  Conn *conn = user;
  size_t done = 0;
  while (done < length) {  /* blocking socket: requests are small, the kernel buffer holds them */
    ssize_t n = write(conn->fd, data + done, length - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    done += n;
  }
  return (ssize_t)length;
}

static int header_cb(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user) {
  Call *call = nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
  if (!call) return 0;
  if (namelen == 7 && memcmp(name, ":status", 7) == 0) call->status = atoi((const char *)value);
  if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0) call->grpc = atoi((const char *)value);
  return 0;
}

static int data_cb(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
                   size_t length, void *user) {
  return 0;
}

static int close_cb(nghttp2_session *s, int32_t id, uint32_t error, void *user) {
  Call *call = nghttp2_session_get_stream_user_data(s, id);
  if (!call) return 0;
  Load *load = call->load;
  double now = now_us();
  if (call->due >= count_from && now <= stop_at) {
    char outcome[32];
    if (call->status != 200) snprintf(outcome, sizeof outcome, "HTTP %d", call->status);
    else if (call->grpc < 0) snprintf(outcome, sizeof outcome, "no grpc-status");
    else snprintf(outcome, sizeof outcome, "grpc %d", call->grpc);
    count_outcome(load, outcome);
    if (call->status == 200 && call->grpc == 0) {
      if (load->count == load->capacity) {
        load->capacity = load->capacity ? load->capacity * 2 : 4096;
        load->latencies = realloc(load->latencies, load->capacity * sizeof(int64_t));
      }
      load->latencies[load->count++] = (int64_t)(now - call->due);
    }
  }
  load->pending--;
  call->conn->active--;
  free(call);
  return 0;
}

static ssize_t body_cb(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length,
                       uint32_t *flags, nghttp2_data_source *source, void *user) {
  Call *call = source->ptr;
  size_t left = call->length - call->sent;
  size_t n = left < length ? left : length;
  memcpy(buf, call->body + call->sent, n);
  call->sent += n;
  if (call->sent == call->length) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return (ssize_t)n;
}

static Conn *open_conn(const char *host, int port, Load *load) {
  Conn *conn = &conns[conn_count++];
  conn->load = load;
  conn->fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, host, &address.sin_addr);
  if (connect(conn->fd, (struct sockaddr *)&address, sizeof address) < 0) {
    perror("connect");
    exit(2);
  }
  int one = 1;
  setsockopt(conn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  nghttp2_session_callbacks *callbacks;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_send_callback(callbacks, send_cb);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, header_cb);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, data_cb);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, close_cb);
  nghttp2_session_client_new(&conn->session, callbacks, conn);
  nghttp2_session_callbacks_del(callbacks);
  nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1000},
                                       {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 24}};
  nghttp2_submit_settings(conn->session, NGHTTP2_FLAG_NONE, settings, 2);
  nghttp2_session_set_local_window_size(conn->session, NGHTTP2_FLAG_NONE, 0, 1 << 30);
  return conn;
}

static void start_call(Load *load, double due) {
  Conn *best = NULL;
  for (int i = 0; i < conn_count; i++) {
    if (conns[i].load == load && (!best || conns[i].active < best->active)) best = &conns[i];
  }
  Call *call = calloc(1, sizeof(Call));
  size_t frame = load->next_frame++ % load->frames;
  *call = (Call){load, best, due, 0, -1, load->data + load->offsets[frame], load->lengths[frame], 0};
  nghttp2_nv headers[] = {
      {(uint8_t *)":method", (uint8_t *)"POST", 7, 4, NGHTTP2_NV_FLAG_NONE},
      {(uint8_t *)":scheme", (uint8_t *)"http", 7, 4, NGHTTP2_NV_FLAG_NONE},
      {(uint8_t *)":authority", (uint8_t *)"localhost", 10, 9, NGHTTP2_NV_FLAG_NONE},
      {(uint8_t *)":path", (uint8_t *)load->path, 5, strlen(load->path), NGHTTP2_NV_FLAG_NONE},
      {(uint8_t *)"content-type", (uint8_t *)"application/grpc", 12, 16, NGHTTP2_NV_FLAG_NONE},
      {(uint8_t *)"te", (uint8_t *)"trailers", 2, 8, NGHTTP2_NV_FLAG_NONE},
  };
  nghttp2_data_provider body = {.source.ptr = call, .read_callback = body_cb};
  if (nghttp2_submit_request(best->session, NULL, headers, 6, &body, call) < 0) {
    free(call);
    count_outcome(load, "not sent: submit failed");
    return;
  }
  load->pending++;
  best->active++;
}

static void top_up(double now) {
  for (int i = 0; i < load_count; i++) {
    Load *load = &loads[i];
    if (load->rate <= 0) {
      while (now < stop_at && load->pending < load->inflight) start_call(load, now);
      continue;
    }
    while (load->next_due <= now && load->next_due < stop_at) {
      if (load->pending < load->inflight) start_call(load, load->next_due);
      else if (load->next_due >= count_from) count_outcome(load, "not sent: too many in flight");
      load->next_due += 1e6 / load->rate;
    }
  }
}

static void print_results(double seconds) {
  printf("{\"seconds\": %g, \"loads\": {", seconds);
  for (int i = 0; i < load_count; i++) {
    Load *load = &loads[i];
    printf("%s\"%s\": {\"latencies_us\": [", i ? ", " : "", load->name);
    for (size_t k = 0; k < load->count; k++) printf("%s%ld", k ? "," : "", (long)load->latencies[k]);
    printf("], \"outcomes\": {");
    for (int k = 0; k < OUTCOMES && load->outcome_names[k][0]; k++) {
      printf("%s\"%s\": %ld", k ? ", " : "", load->outcome_names[k], load->outcome_counts[k]);
    }
    printf("}}");
  }
  printf("}}\n");
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: %s HOST PORT SECONDS WARMUP name,path,frames,inflight,rate...\n", argv[0]);
    return 2;
  }
  const char *host = argv[1];
  int port = atoi(argv[2]);
  double seconds = atof(argv[3]), warmup = atof(argv[4]);
  double started = now_us();
  count_from = started + warmup * 1e6;
  stop_at = count_from + seconds * 1e6;
  for (int a = 5; a < argc && load_count < MAX_LOADS; a++) {
    Load *load = &loads[load_count++];
    char frames[512];
    if (sscanf(argv[a], "%63[^,],%127[^,],%511[^,],%d,%lf", load->name, load->path, frames,
               &load->inflight, &load->rate) != 5) {
      fprintf(stderr, "bad load: %s\n", argv[a]);
      return 2;
    }
    read_frames(load, frames);
    load->next_due = started;
    int wanted = load->inflight < MAX_CONNS_PER_LOAD ? load->inflight : MAX_CONNS_PER_LOAD;
    for (int c = 0; c < wanted && conn_count < MAX_CONNS; c++) open_conn(host, port, load);
  }
  uint8_t buffer[65536];
  struct pollfd polls[MAX_CONNS];
  for (;;) {
    double now = now_us();
    top_up(now);
    int busy = 0;
    for (int i = 0; i < conn_count; i++) {
      nghttp2_session_send(conns[i].session);
      busy += conns[i].active;
      polls[i] = (struct pollfd){conns[i].fd, POLLIN, 0};
    }
    if (now >= stop_at && (!busy || now >= stop_at + 2e6)) break;
    double wait_ms = 5;
    for (int i = 0; i < load_count; i++) {
      if (loads[i].rate > 0 && loads[i].next_due < stop_at) {
        double until = (loads[i].next_due - now) / 1e3;
        if (until < wait_ms) wait_ms = until < 0 ? 0 : until;
      }
    }
    if (poll(polls, conn_count, (int)wait_ms) < 0 && errno != EINTR) break;
    for (int i = 0; i < conn_count; i++) {
      if (!(polls[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(conns[i].fd, buffer, sizeof buffer);
      if (n <= 0 || nghttp2_session_mem_recv(conns[i].session, buffer, n) < 0) {
        fprintf(stderr, "connection %d closed\n", i);
        return 3;
      }
    }
  }
  print_results(seconds);
  return 0;
}
