// A C peer that speaks the Channel layout (version 4) from its documentation alone (docs/channel.md).
// Usage: channel_peer <segment> consume <count>   receive and check messages a shmem sender made
//        channel_peer <segment> produce <count>   send messages for a shmem receiver, then close
// Messages are the ones tests/children/channel_peer.ts makes: u32 seq, u32 checksum, bytes (seq + k) & 255.
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
#include <unistd.h>

#define MAGIC 0x434D4853u
#define WAITS 1u  // bit 0 of tail: the sender waits for room
typedef _Atomic int32_t aint;

static aint *word(uint8_t *base, int offset) { return (aint *)(base + offset); }
static void futex_wait(aint *w, int v) { syscall(SYS_futex, w, FUTEX_WAIT, v, NULL, NULL, 0); }
static void futex_wake(aint *w) { syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0); }
static uint32_t size_of(uint32_t i) { return 8 + (uint32_t)(i * 2654435761u) % 121; }
static uint32_t checksum(uint32_t i, uint32_t n) { return ((i ^ 0x9e3779b9u) * 0x85ebca6bu) ^ n; }

// Wakes the other side if its hint says it sleeps.
static void wake(aint *hint, aint *sleeping) {
  if (atomic_load(hint) != 0 && atomic_exchange(sleeping, 0) != 0) futex_wake(sleeping);
}
// Wakes the sender after tail carried its bit: clears its futex word, and calls the kernel only if it was set.
static void wake_sleeper(aint *sleeping) {
  if (atomic_exchange(sleeping, 0) != 0) futex_wake(sleeping);
}
// Announces a sleep: the hint, then the futex word.
static void arm(aint *hint, aint *sleeping) {
  atomic_store(hint, 1);
  atomic_exchange(sleeping, 1);
}
static void disarm(aint *hint, aint *sleeping) {
  atomic_store(sleeping, 0);
  atomic_store(hint, 0);
}

int main(int argc, char **argv) {
  char path[300];
  snprintf(path, sizeof path, "/%s", argv[1]);
  int fd = shm_open(path, O_RDWR, 0);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) { perror("shm_open"); return 1; }
  uint8_t *h = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (h == MAP_FAILED) { perror("mmap"); return 1; }
  if (atomic_load(word(h, 0)) != (int32_t)MAGIC || *(uint32_t *)(h + 4) != 4) { fprintf(stderr, "bad header\n"); return 1; }
  uint32_t cap = *(uint32_t *)(h + 8), data_at = *(uint32_t *)(h + 12), mod = 2 * cap;
  uint8_t *data = h + data_at;
  aint *head = word(h, 64), *tx_sleeping = word(h, 68), *tail = word(h, 128), *rx_sleeping = word(h, 132);
  aint *closed = word(h, 16), *tx_hint = word(h, 20), *rx_hint = word(h, 24);
  uint32_t count = (uint32_t)atoi(argv[3]);

  if (strcmp(argv[2], "consume") == 0) {
    uint32_t i = 0;
    for (;;) {
      uint32_t t = (uint32_t)atomic_load(tail) & ~WAITS, at = t % cap;
      aint *state = word(data, (int)at);
      uint32_t s = (uint32_t)atomic_load(state);
      if (((uint32_t)atomic_load(tail) & ~WAITS) != t) continue;  // the sender skipped a lone wrap marker: start again
      // Nothing at tail yet: an empty slot, or what it held one lap ago (the lap bit differs).
      if (s == 0 || (s >> 31) != (t >= cap)) {
        if (atomic_load(closed)) {
          if ((uint32_t)atomic_load(state) != s) continue;  // published just before the close
          break;
        }
        arm(rx_hint, rx_sleeping);  // then check again, then sleep
        if ((uint32_t)atomic_load(state) == s && !atomic_load(closed)) futex_wait(rx_sleeping, 1);
        disarm(rx_hint, rx_sleeping);
        continue;
      }
      if ((s & 0x7FFFFFFFu) == 0x7FFFFFFFu) {  // wrap marker: skip to the next lap (tail may carry the sender's bit)
        int32_t seen = atomic_load(tail);
        if (((uint32_t)seen & ~WAITS) == t && atomic_compare_exchange_strong(tail, &seen, (int32_t)((t + cap - at) % mod)) &&
            (seen & WAITS))
          wake_sleeper(tx_sleeping);
        continue;
      }
      uint32_t n = (s & 0x7FFFFFFFu) - 1;
      uint8_t *m = data + at + 8;
      uint32_t seq, sum;
      memcpy(&seq, m, 4);
      memcpy(&sum, m + 4, 4);
      if (n != size_of(i) || seq != i || sum != checksum(i, n)) { fprintf(stderr, "bad message %u\n", i); return 1; }
      for (uint32_t k = 8; k < n; k++) if (m[k] != (uint8_t)(i + k)) { fprintf(stderr, "bad byte %u/%u\n", i, k); return 1; }
      i++;
      // One exchange frees the record and tells whether the sender waits for room (then wake it).
      if (atomic_exchange(tail, (int32_t)((t + ((n + 15) & ~7u)) % mod)) & WAITS) wake_sleeper(tx_sleeping);
    }
    printf("{\"received\":%u}\n", i);
    return i == count ? 0 : 1;
  }

  for (uint32_t i = 0; i < count; i++) {
    uint32_t n = size_of(i), record = (n + 15) & ~7u;
    for (;;) {
      uint32_t hd = (uint32_t)atomic_load(head), used = (hd - ((uint32_t)atomic_load(tail) & ~WAITS) + mod) % mod;
      uint32_t at = hd % cap, before = cap - at;
      if (record > before && cap - used >= before) {  // write a wrap marker, go to the next lap
        if (used + before < cap) atomic_store(word(data, 0), 0);  // the slot after the marker is free: empty
        atomic_store(word(data, (int)at), (int32_t)(0x7FFFFFFFu | (hd >= cap ? 0x80000000u : 0)));
        int32_t next = (int32_t)((hd + before) % mod), expected = (int32_t)hd;
        atomic_store(head, next);
        // If the marker is all the ring holds, skip it for the receiver; otherwise wake it to skip it.
        // (This sender's bit in tail is clear here: it clears it whenever it stops waiting.)
        if (!atomic_compare_exchange_strong(tail, &expected, next)) wake(rx_hint, rx_sleeping);
        continue;
      }
      if (record <= before && cap - used >= record) {
        uint8_t *m = data + at + 8;
        uint32_t sum = checksum(i, n);
        memcpy(m, &i, 4);
        memcpy(m + 4, &sum, 4);
        for (uint32_t k = 8; k < n; k++) m[k] = (uint8_t)(i + k);
        if (used + record < cap) atomic_store(word(data, (int)((at + record) % cap)), 0);  // the next slot: empty
        *(uint32_t *)(data + at + 4) = 0;
        atomic_store(word(data, (int)at), (int32_t)((n + 1) | (hd >= cap ? 0x80000000u : 0)));  // publishes it
        atomic_store(head, (int32_t)((hd + record) % mod));
        wake(rx_hint, rx_sleeping);
        break;
      }
      arm(tx_hint, tx_sleeping);  // full: announce (hint, futex word, the bit in tail), check again, sleep
      uint32_t seen = (uint32_t)atomic_fetch_or(tail, (int32_t)WAITS) & ~WAITS;
      if (seen == (uint32_t)(hd - used + mod) % mod) futex_wait(tx_sleeping, 1);
      atomic_fetch_and(tail, ~(int32_t)WAITS);
      disarm(tx_hint, tx_sleeping);
    }
  }
  atomic_exchange(closed, 1);
  atomic_store(rx_sleeping, 0);
  futex_wake(rx_sleeping);
  printf("{\"sent\":%u}\n", count);
  return 0;
}
