// A C port of a publish-subscribe service (layout version 3), written from docs/pubsub.md and docs/services.md alone.
// Usage: pubsub_peer <name> subscribe <count>          join a service shmem made, receive and check <count> samples
//        pubsub_peer <name> publish <count> <subs>     create the service, wait for <subs> subscribers, publish
//                                                      <count> samples (block policy), wait for them to leave, close
// Samples are the ones tests/children/pubsub_peer.ts makes: u32 i, then bytes (i + k) & 255, 32 + i % 64 bytes.
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
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
typedef _Atomic uint64_t au64;

enum { HDR = 64, CONTROL = 256, RECORD = 16, ENTRY = 16 };
// Control fields (bytes from the layout's start).
enum { C_N = 0, C_D = 4, C_K = 8, C_L = 12, C_B = 16, C_S = 20, C_P = 24, C_Z = 28, C_STRIDE = 32, C_QUEUES = 36,
       C_RECORDS = 40, C_HISTORY = 44, C_PAYLOAD = 48, C_LOCK = 64, C_MEMBERSHIP = 80, C_PUB_STATE = 128,
       C_PUB_PID = 132, C_PUB_START = 136, C_PUB_WAITING = 144, C_PUB_CPU = 148, C_PUBLISHED = 192,
       C_PUBLISHING = 204 };
// Slot fields.
enum { S_STATE = 0, S_PID = 4, S_START = 8, S_GEN = 16, S_MISSED = 20, S_CPU = 24, S_HEAD = 64, S_WAITING = 68,
       S_TAIL = 128, S_HELD = 132 };

static uint8_t *L;  // the layout's start
static uint32_t N, D, B, S, Z, STRIDE, SLOT, QUEUES, RECORDS, PAYLOAD;

static aint *w(uint32_t offset) { return (aint *)(L + offset); }
static uint32_t u(uint32_t offset) { return (uint32_t)atomic_load(w(offset)); }
static aint *slot(uint32_t i, uint32_t field) { return w(CONTROL + SLOT * i + field); }
static aint *rec(uint32_t j, uint32_t field) { return w(RECORDS + RECORD * j + field); }
static void futex_wait(aint *a, int v, long ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000};
  syscall(SYS_futex, a, FUTEX_WAIT, v, &t, NULL, 0);
}
static void futex_wake(aint *a) { syscall(SYS_futex, a, FUTEX_WAKE, 0x7fffffff, NULL, NULL, 0); }
static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}
static void fail(const char *what) {
  fprintf(stderr, "%s\n", what);
  exit(1);
}
static uint32_t size_of(uint32_t i) { return 32 + i % 64; }
static uint32_t up64(uint32_t n) { return (n + 63) / 64 * 64; }

// This process as the process probe sees it: pid, and the start time in clock ticks (/proc/self/stat field 22).
static uint64_t start_ticks(void) {
  char buf[1024];
  FILE *f = fopen("/proc/self/stat", "r");
  size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  if (f) fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (!p) fail("no /proc/self/stat");
  unsigned long long v = 0;
  for (int field = 2; field < 22; field++) p = strchr(p + 1, ' ');
  sscanf(p + 1, "%llu", &v);
  return v;
}
static uint64_t me(void) { return (uint64_t)getpid() | start_ticks() << 22; }

// The control lock: a shmem Mutex (u64 owner, u32 wake sequence, u32 sleeping waiters).
static void take_lock(void) {
  au64 *owner = (au64 *)(L + C_LOCK);
  uint64_t mine = me();
  double deadline = now_ms() + 1000;
  for (;;) {
    uint64_t seen = 0;
    if (atomic_compare_exchange_strong(owner, &seen, mine)) return;
    uint32_t pid = (uint32_t)(seen & ((1u << 22) - 1));
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH && atomic_compare_exchange_strong(owner, &seen, mine)) return;
    if (now_ms() > deadline) fail("the control lock stayed taken");
    sched_yield();
  }
}
// A holder that finds the membership word odd took the lock from a change that died half-way: it makes it even.
static void lock(void) {
  take_lock();
  if (atomic_load(w(C_MEMBERSHIP)) & 1) atomic_fetch_add(w(C_MEMBERSHIP), 1);
}
static void unlock(void) {
  atomic_store((au64 *)(L + C_LOCK), 0);
  atomic_fetch_add(w(C_LOCK + 8), 1);
  if (atomic_load(w(C_LOCK + 12)) != 0) futex_wake(w(C_LOCK + 8));
}

// A change of membership: under the lock, with the membership word odd, once no lock-free publish step runs.
static void begin_change(void) {
  lock();
  atomic_fetch_add(w(C_MEMBERSHIP), 1);
  double deadline = now_ms() + 1000;
  while (atomic_load(w(C_PUBLISHING)) != 0) {
    if (kill((pid_t)u(C_PUB_PID), 0) != 0) break;  // it died in the step
    if (now_ms() > deadline) fail("the publisher stayed in one publish step");
    sched_yield();
  }
}
static void end_change(void) {
  atomic_fetch_add(w(C_MEMBERSHIP), 1);
  unlock();
}
// The entry at position n of slot i's ring: its stamp (n + 1 once written), the sample index, length and seq.
static aint *entry(uint32_t i, uint32_t n) { return w(QUEUES + ENTRY * (D * i + n % D)); }

static uint32_t queued(uint32_t i) {
  uint32_t n = u(CONTROL + SLOT * i + S_HEAD) - u(CONTROL + SLOT * i + S_TAIL);
  if (n > D) fail("a queue holds more than its depth");
  return n;
}
// Room in slot i read outside the publish step: a change of membership may move head and tail meanwhile (reads as room).
static int room_now(uint32_t i) {
  uint32_t m = u(C_MEMBERSHIP);
  if (m & 1) return 1;
  uint32_t n = u(CONTROL + SLOT * i + S_HEAD) - u(CONTROL + SLOT * i + S_TAIL);
  if (n <= D) return n < D;
  if (u(C_MEMBERSHIP) != m) return 1;
  fail("a queue holds more than its depth");
  return 0;
}

static uint8_t *map(const char *name, int create, uint32_t size) {
  char path[300];
  snprintf(path, sizeof path, "/%s", name);
  int fd = shm_open(path, O_RDWR | (create ? O_CREAT | O_EXCL : 0), 0600);
  struct stat st;
  if (fd < 0) fail("shm_open");
  if (create && ftruncate(fd, size) != 0) fail("ftruncate");
  if (fstat(fd, &st) != 0) fail("fstat");
  uint8_t *h = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (h == MAP_FAILED) fail("mmap");
  close(fd);
  L = h + HDR;
  if (!create) {  // the header checks of docs/services.md
    if (st.st_size < HDR) fail("too small");
    if (*(uint32_t *)h != 0x534d4853u || *(uint16_t *)(h + 4) != 1 || *(uint16_t *)(h + 6) != 3) fail("not pub-sub v3");
    if (atomic_load((aint *)(h + 12)) != 1) fail("not ready");
    uint32_t at = *(uint32_t *)(h + 8);
    double total = *(double *)(h + 16);
    if (at < HDR || at % 64 || total > st.st_size || at + CONTROL > total) fail("bad header");
    L = h + at;
  }
  return h;
}

static void read_params(double total) {
  N = u(C_N), D = u(C_D), S = u(C_S), Z = u(C_Z), STRIDE = u(C_STRIDE);
  QUEUES = u(C_QUEUES), RECORDS = u(C_RECORDS), PAYLOAD = u(C_PAYLOAD);
  uint32_t K = u(C_K), LO = u(C_L);
  B = u(C_B);
  if (N < 1 || N > 64 || D < 1 || D > 4096 || K > D || LO < 1 || LO > 64 || B < 1 || B > 64 || Z < 1) fail("params");
  SLOT = 128 + up64(4 + 4 * B);
  if (S != N * (D + B) + K + LO || STRIDE != up64(Z) || QUEUES != CONTROL + SLOT * N) fail("derived");
  if (RECORDS != up64(QUEUES + ENTRY * D * N) || PAYLOAD != up64(u(C_HISTORY) + 4 * K)) fail("offsets");
  if (u(C_HISTORY) != up64(RECORDS + RECORD * S) || HDR + PAYLOAD + (double)STRIDE * S != total) fail("total");
}

static int subscribe(const char *name, uint32_t count) {
  uint8_t *h = map(name, 0, 0);
  read_params(*(double *)(h + 16));
  begin_change();
  uint32_t i = 0;
  while (i < N && atomic_load(slot(i, S_STATE)) != 0) i++;
  if (i == N) fail("no free slot");
  uint64_t start = start_ticks();
  atomic_store(slot(i, S_PID), getpid());
  memcpy(L + CONTROL + SLOT * i + S_START, &(double){(double)start}, 8);
  atomic_fetch_add(slot(i, S_GEN), 1);
  atomic_store(slot(i, S_MISSED), 0);
  atomic_store(slot(i, S_CPU), -1);
  for (uint32_t k = 0; k < B; k++) atomic_store(slot(i, S_HELD + 4 * k), 0);
  atomic_store(slot(i, S_TAIL), atomic_load(slot(i, S_HEAD)));  // no history asked of this service
  atomic_store(slot(i, S_STATE), 1);
  end_change();
  uint32_t t = u(CONTROL + SLOT * i + S_TAIL);  // the only taker (block policy, no drops): kept here
  for (uint32_t n = 0; n < count; n++) {
    double deadline = now_ms() + 20000;
    while ((uint32_t)atomic_load(entry(i, t)) != t + 1) {
      if (atomic_load(w(C_PUB_STATE)) != 1 || kill((pid_t)u(C_PUB_PID), 0) != 0) fail("publisher gone");
      if (now_ms() > deadline) fail("timed out");
      int32_t seen = atomic_load(slot(i, S_HEAD));
      atomic_store(slot(i, S_WAITING), 1);
      if ((uint32_t)atomic_load(entry(i, t)) != t + 1) futex_wait(slot(i, S_HEAD), seen, 50);
      atomic_store(slot(i, S_WAITING), 0);
    }
    uint32_t j = (uint32_t)atomic_load(entry(i, t) + 1);
    uint32_t len = (uint32_t)atomic_load(entry(i, t) + 2), seq = (uint32_t)atomic_load(entry(i, t) + 3);
    if (j >= S) fail("sample index out of range");
    atomic_store(slot(i, S_HELD), (int32_t)(j + 1));  // held word 0 names it, then tail moves
    atomic_store(slot(i, S_TAIL), (int32_t)++t);
    if (atomic_load(w(C_PUB_WAITING)) != 0) futex_wake(slot(i, S_TAIL));
    uint8_t *bytes = L + PAYLOAD + (size_t)STRIDE * j;
    if (len > Z || seq != n || len != size_of(n) || *(uint32_t *)bytes != n) fail("wrong sample");
    for (uint32_t k = 4; k < len; k++) if (bytes[k] != ((n + k) & 255)) fail("wrong byte");
    atomic_store(slot(i, S_HELD), 0);  // release
  }
  begin_change();
  for (uint32_t k = 0; k < B; k++) atomic_store(slot(i, S_HELD + 4 * k), 0);
  atomic_store(slot(i, S_TAIL), atomic_load(slot(i, S_HEAD)));
  atomic_store(slot(i, S_STATE), 0);
  end_change();
  printf("{\"received\":%u}\n", count);
  return 0;
}

static int publish(const char *name, uint32_t count, uint32_t subs) {
  N = subs, D = 8, Z = 128, STRIDE = 128, B = 2, SLOT = 192;
  uint32_t K = 0, LO = 2;
  S = N * (D + B) + K + LO;
  QUEUES = CONTROL + SLOT * N, RECORDS = up64(QUEUES + ENTRY * D * N);
  uint32_t history = up64(RECORDS + RECORD * S);
  PAYLOAD = up64(history + 4 * K);
  uint32_t total = HDR + PAYLOAD + STRIDE * S;
  uint8_t *h = map(name, 1, total);
  *(uint16_t *)(h + 4) = 1, *(uint16_t *)(h + 6) = 3, *(uint32_t *)(h + 8) = HDR;
  *(double *)(h + 16) = total, *(uint32_t *)(h + 24) = (uint32_t)getpid();
  *(uint32_t *)h = 0x534d4853u;
  uint32_t fields[][2] = {{C_N, N}, {C_D, D}, {C_K, K}, {C_L, LO}, {C_B, B}, {C_S, S}, {C_P, 0}, {C_Z, Z},
                          {C_STRIDE, STRIDE}, {C_QUEUES, QUEUES}, {C_RECORDS, RECORDS}, {C_HISTORY, history},
                          {C_PAYLOAD, PAYLOAD}};
  for (size_t f = 0; f < sizeof fields / sizeof *fields; f++) *(uint32_t *)(L + fields[f][0]) = fields[f][1];
  *(uint32_t *)(L + C_PUB_PID) = (uint32_t)getpid();
  *(double *)(L + C_PUB_START) = (double)start_ticks();
  atomic_store(w(C_PUB_CPU), -1);
  atomic_store(w(C_PUB_STATE), 1);
  atomic_store((aint *)(h + 12), 1);  // ready, last
  futex_wake((aint *)(h + 12));

  double deadline = now_ms() + 20000;
  for (;;) {
    uint32_t live = 0;
    for (uint32_t i = 0; i < N; i++) live += atomic_load(slot(i, S_STATE)) == 1;
    if (live == subs) break;
    if (now_ms() > deadline) fail("no subscribers came");
    usleep(1000);
  }
  uint32_t cursor = 0;
  uint8_t *used = calloc(S, 1);
  for (uint32_t n = 0; n < count; n++) {
    // Loan: a sample with no flags that no live slot queues (tail to head) or holds (tail first, then the held
    // words). This one scans every time (shmem keeps what one scan found free until it loans it), without taking
    // part in the publish step: it never publishes while a subscriber joins with history.
    memset(used, 0, S);
    for (uint32_t i = 0; i < N; i++) {
      if (atomic_load(slot(i, S_STATE)) != 1) continue;
      uint32_t t = u(CONTROL + SLOT * i + S_TAIL), q = u(CONTROL + SLOT * i + S_HEAD) - t;
      if (q > D) fail("a queue holds more than its depth");
      for (uint32_t p = 0; p < q; p++) {
        uint32_t x = (uint32_t)atomic_load(entry(i, t + p) + 1);
        if (x >= S) fail("a queue names a sample out of range");
        used[x] = 1;
      }
      for (uint32_t k = 0; k < B; k++) {
        uint32_t v = u(CONTROL + SLOT * i + S_HELD + 4 * k);
        if (v > S) fail("a held word names a sample out of range");
        if (v) used[v - 1] = 1;
      }
    }
    uint32_t j = S;
    for (uint32_t k = 0; k < S && j == S; k++) {
      uint32_t c = (cursor + k) % S;
      if (!used[c] && atomic_load(rec(c, 0)) == 0) j = c;
    }
    if (j == S) fail("no free sample");
    cursor = (j + 1) % S;
    atomic_store(rec(j, 0), 1);
    uint8_t *bytes = L + PAYLOAD + (size_t)STRIDE * j;
    *(uint32_t *)bytes = n;
    for (uint32_t k = 4; k < size_of(n); k++) bytes[k] = (uint8_t)((n + k) & 255);
    for (;;) {
      for (uint32_t i = 0; i < N; i++) {  // step 1: room in every live queue
        while (atomic_load(slot(i, S_STATE)) == 1 && !room_now(i)) {
          if (now_ms() > deadline + 20000) fail("no room");
          int32_t t = atomic_load(slot(i, S_TAIL));
          atomic_store(w(C_PUB_WAITING), 1);
          if (!room_now(i)) futex_wait(slot(i, S_TAIL), t, 50);
          atomic_store(w(C_PUB_WAITING), 0);
        }
      }
      // The publish step: without the lock unless a change of membership runs (the membership word is odd).
      atomic_store(w(C_PUBLISHING), 1);
      int locked = atomic_load(w(C_MEMBERSHIP)) & 1;
      if (locked) {
        atomic_store(w(C_PUBLISHING), 0);
        lock();
      }
      uint64_t live = 0;
      uint32_t full = 0;
      for (uint32_t i = 0; i < N; i++) {
        if (atomic_load(slot(i, S_STATE)) != 1) continue;
        if (queued(i) >= D) full = 1;
        live |= 1ull << i;
      }
      if (full) {
        if (locked) unlock();
        else atomic_store(w(C_PUBLISHING), 0);
        continue;
      }
      int32_t seq = atomic_load(w(C_PUBLISHED));
      atomic_store(rec(j, 8), seq);
      atomic_store(rec(j, 4), (int32_t)size_of(n));
      atomic_store(rec(j, 0), 0);
      for (uint32_t i = 0; i < N; i++) {
        if (!(live >> i & 1)) continue;
        uint32_t head = u(CONTROL + SLOT * i + S_HEAD);
        atomic_store(entry(i, head) + 1, (int32_t)j);  // index, length, seq, then the stamp, then head
        atomic_store(entry(i, head) + 2, (int32_t)size_of(n));
        atomic_store(entry(i, head) + 3, seq);
        atomic_store(entry(i, head), (int32_t)(head + 1));
        atomic_store(slot(i, S_HEAD), (int32_t)(head + 1));
      }
      atomic_fetch_add(w(C_PUBLISHED), 1);
      if (locked) unlock();
      else atomic_store(w(C_PUBLISHING), 0);
      for (uint32_t i = 0; i < N; i++) if (atomic_load(slot(i, S_WAITING)) != 0) futex_wake(slot(i, S_HEAD));
      break;
    }
  }
  deadline = now_ms() + 20000;
  for (uint32_t i = 0; i < N; i++) {
    while (atomic_load(slot(i, S_STATE)) == 1) {
      if (now_ms() > deadline) fail("subscribers did not leave");
      usleep(1000);
    }
  }
  atomic_store(w(C_PUB_STATE), 2);
  for (uint32_t i = 0; i < N; i++) futex_wake(slot(i, S_HEAD));
  char path[300];
  snprintf(path, sizeof path, "/%s", name);
  shm_unlink(path);
  free(used);
  printf("{\"published\":%u}\n", count);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 4 && strcmp(argv[2], "subscribe") == 0) return subscribe(argv[1], (uint32_t)atoi(argv[3]));
  if (argc >= 5 && strcmp(argv[2], "publish") == 0) return publish(argv[1], (uint32_t)atoi(argv[3]), (uint32_t)atoi(argv[4]));
  fail("usage: pubsub_peer <name> subscribe <count> | publish <count> <subscribers>");
}
