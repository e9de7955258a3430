// A C client of a shmem request-response service, written from its spec alone (docs/request_response.md, version 1).
// Usage: reqres_peer <service> <count>
// Sends <count> requests, two in flight at a time, the ones tests/children/reqres_peer.ts sends: u32 n, then bytes
// (n + k) & 255, 8 + (n * 2654435761) % 201 bytes in all. Checks each answer {u32 n, u32 part, u32 sum of the
// request's bytes}: one part, or three when n % 5 == 0. Prints "ok <count>" and leaves.
#include <fcntl.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

typedef _Atomic int32_t aint;
typedef _Atomic int64_t along;

static uint8_t *base;
static uint32_t clients, in_flight, request_size, response_size, rs, ps, block_bytes, me;
static uint64_t payload_at;

static uint32_t align64(uint32_t n) { return (n + 63) / 64 * 64; }
static aint *word(uint64_t offset) { return (aint *)(base + offset); }
static uint32_t u32(uint64_t offset) { return *(uint32_t *)(base + offset); }
static void put32(uint64_t offset, uint32_t v) { *(uint32_t *)(base + offset) = v; }
static uint64_t block(uint32_t c) { return 128 + (uint64_t)c * block_bytes; }
static uint64_t request_slot(uint32_t s) { return payload_at + (uint64_t)me * in_flight * (rs + ps) + (uint64_t)s * rs; }
static uint64_t response_slot(uint32_t s) { return request_slot(in_flight) + (uint64_t)s * ps; }
static uint32_t size_of(uint32_t n) { return 8 + (uint32_t)(n * 2654435761u) % 201; }
static int fail(const char *what) { fprintf(stderr, "reqres_peer: %s\n", what); return 1; }

// pid | start << 22, start = field 22 of /proc/self/stat (clock ticks after boot).
static int64_t identity(void) {
  char buf[1024];
  FILE *f = fopen("/proc/self/stat", "r");
  size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  if (f) fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  unsigned long long start = 0;
  for (int field = 2; p && field < 22; field++) p = strchr(p + 1, ' ');
  if (p) start = strtoull(p + 1, NULL, 10);
  return (int64_t)((uint64_t)getpid() | (uint64_t)start << 22);
}

// A ring: +1 on the bell, FUTEX_WAKE only when someone sleeps on it.
static void ring(aint *bell, aint *sleeping) {
  atomic_fetch_add(bell, 1);
  if (atomic_load(sleeping) != 0) syscall(SYS_futex, bell, FUTEX_WAKE, 0x7fffffff, NULL, NULL, 0);
}

int main(int argc, char **argv) {
  if (argc != 3) return fail("usage: reqres_peer <service> <count>");
  char path[300];
  snprintf(path, sizeof path, "/%s", argv[1]);
  int fd = shm_open(path, O_RDWR, 0);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) return fail("shm_open");
  base = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) return fail("mmap");
  // The common header, then the record: every field checked before use.
  if (st.st_size < 128 || u32(0) != 0x534d4853u || *(uint16_t *)(base + 4) != 2 || *(uint16_t *)(base + 6) != 1 ||
      u32(8) != 64 || atomic_load(word(12)) != 1) return fail("not a ready request-response service, version 1");
  clients = u32(64), in_flight = u32(68), request_size = u32(72), response_size = u32(76);
  if (clients < 1 || clients > 256 || in_flight < 2 || in_flight > 64 || request_size < 256 || request_size > (1u << 30) ||
      response_size < 12 || response_size > (1u << 30)) return fail("a shape this peer cannot use");
  rs = align64(request_size), ps = align64(response_size), block_bytes = align64(64 + 32 * in_flight);
  payload_at = 128 + (uint64_t)clients * block_bytes;
  uint64_t total = payload_at + (uint64_t)clients * in_flight * (rs + ps);
  if (u32(100) != block_bytes || *(double *)(base + 16) != (double)total || total > (uint64_t)st.st_size) {
    return fail("the layout does not match the segment");
  }
  aint *server_bell = word(80), *server_sleeping = word(84), *server_state = word(96);
  if (atomic_load(server_state) != 1) return fail("the server is gone");
  // Claim a free block.
  int64_t self = identity();
  me = clients;
  for (uint32_t c = 0; c < clients && me == clients; c++) {
    int64_t free_owner = 0;
    if (atomic_compare_exchange_strong((along *)(base + block(c)), &free_owner, self)) me = c;
  }
  if (me == clients) return fail("every client slot is taken");
  uint64_t b = block(me);
  aint *bell = word(b + 12), *sleeping = word(b + 16), *req_head = word(b + 20), *res_head = word(b + 28);
  aint *res_tail = word(b + 32), *leaving = word(b + 36);
  uint32_t head = 0, read = 0, count = (uint32_t)atoi(argv[2]), sent = 0, done = 0;
  uint32_t slot_of[2] = {0, 1}, sum_of[2], parts_of[2], n_of[2];
  int busy[2] = {0, 0};
  time_t deadline = time(NULL) + 20;
  while (done < count) {
    // Keep two requests in flight, ids n + 1, in request slots 0 and 1.
    for (int k = 0; k < 2 && sent < count; k++) {
      if (busy[k]) continue;
      uint32_t n = sent++, size = size_of(n), sum = 0;
      uint8_t *p = base + request_slot(slot_of[k]);
      memcpy(p, &n, 4);
      for (uint32_t i = 4; i < size; i++) p[i] = (uint8_t)(n + i);
      for (uint32_t i = 0; i < size; i++) sum += p[i];
      uint64_t e = b + 64 + (uint64_t)(head % in_flight) * 16;
      put32(e, n + 1), put32(e + 4, slot_of[k]), put32(e + 8, size), put32(e + 12, 0);
      atomic_store(req_head, (int32_t)++head);
      ring(server_bell, server_sleeping);
      busy[k] = 1, sum_of[k] = sum, parts_of[k] = 0, n_of[k] = n;
    }
    // Take the responses queued, or sleep on the bell (at most 50 ms, then check the server).
    int32_t v = atomic_load(bell);
    atomic_fetch_add(sleeping, 1);
    uint32_t rh = (uint32_t)atomic_load(res_head);
    if (rh == read) {
      struct timespec slice = {0, 50 * 1000 * 1000};
      syscall(SYS_futex, bell, FUTEX_WAIT, v, &slice, NULL, 0);
    }
    atomic_fetch_sub(sleeping, 1);
    if (atomic_load(server_state) != 1) return fail("the server closed");
    if (time(NULL) > deadline) return fail("no answer in time");
    rh = (uint32_t)atomic_load(res_head);
    if (rh - (uint32_t)atomic_load(res_tail) > in_flight) return fail("the response queue is corrupt");
    for (; read != rh; read++) {
      uint64_t e = b + 64 + 16 * (uint64_t)in_flight + (uint64_t)(read % in_flight) * 16;
      uint32_t id = u32(e), slot = u32(e + 4), length = u32(e + 8), flags = u32(e + 12);
      int k = busy[0] && id == n_of[0] + 1 ? 0 : busy[1] && id == n_of[1] + 1 ? 1 : -1;
      if (k < 0 || slot != read % in_flight || length != 12 || (flags & ~1u) != 0) return fail("a bad response");
      uint32_t *r = (uint32_t *)(base + response_slot(slot));
      if (r[0] != n_of[k] || r[1] != parts_of[k] || r[2] != sum_of[k]) return fail("a wrong answer");
      parts_of[k]++;
      if (flags & 1) {
        if (parts_of[k] != (n_of[k] % 5 == 0 ? 3u : 1u)) return fail("a stream of the wrong length");
        busy[k] = 0, done++;
      }
      atomic_store(res_tail, (int32_t)(read + 1));  // released in order
      ring(server_bell, server_sleeping);
    }
  }
  atomic_store(leaving, 1);
  ring(server_bell, server_sleeping);
  printf("ok %u\n", done);
  return 0;
}
