/**
 * What a terminated worker thread leaves behind, released by the threads that
 * live on (Linux).
 *
 * `worker.terminate()` stops a thread without running its finalizers, and in
 * Deno and Bun without running any of its code: the descriptors (and
 * mappings) its open memory held would stay until the process ends. So every
 * worker thread records each mapping it holds in one table per process, in
 * native memory that every thread's copy of this library finds: a small
 * `memfd` named `shm-threads` mapped at one fixed address
 * (`MAP_FIXED_NOREPLACE`: the first thread maps it, the others find it there
 * in /proc/self/maps). A record is the owner thread's id, the descriptor, the
 * address and length, and whether the mapping may be unmapped. Any thread's
 * next open, and an unref'd timer while records are left, sweep the table: a record whose thread no
 * longer exists (`tgkill(pid, tid, 0)` fails with ESRCH) has its descriptor
 * closed, always safe, since the descriptor belonged to that record only.
 *
 * Unmapping is not always safe: in Deno and Bun a buffer posted to another
 * thread moves (the receiver's buffer points into the mapping), so there the
 * mapping stays until the process ends. In Node a posted buffer is copied, so
 * a dead thread's mapping is unmapped unless its address was handed out
 * (`unsafeAddress()`, `pin()`) or one of its buffers was detached by someone
 * else. Where any step is not available (an old kernel, a full table, another
 * mapping at the address), nothing is recorded and the memory stays until the
 * process ends, as before.
 *
 * @module
 */
import { ffi } from "../ffi/mod.ts";
import type { ThreadRecord } from "../platform/contracts.ts";
import type { Libc } from "./libc.ts";
import { libc } from "./libc.ts";
import { readText } from "./files.ts";
import { posixConstants } from "./constants.ts";

/** Where the table lives in every process: below 2^39, so inside a 39-bit arm64 address space. */
const ADDRESS = 0x3e5e000000n;
/** 32-byte records; record 0 is the header (its first word counts live records). */
const RECORD = 32;
const RECORDS = 2048;
const BYTES = RECORD * RECORDS;
const MAP_FIXED_NOREPLACE = 0x100000;
const ESRCH = 3;
/** How often a thread with shmem loaded looks for records of dead threads while any exist. */
const SWEEP_MS = 1000;

const FREE = 0;
const BUSY = 1;
const LIVE = 2;
/** The record's mapping may be unmapped once its thread is gone. */
const UNMAP = 1;

interface Table {
  readonly l: Libc;
  readonly tid: () => number;
  /** Whether this is the process's main thread (its thread id is the pid; Deno's Web Workers are not "main" either). */
  readonly main: boolean;
  readonly alive: (tid: number) => boolean;
  /** Per record: state, tid, fd, flags (i32 words 0..3); address and length (u64 words 2..3). */
  readonly words: Int32Array;
  readonly longs: BigUint64Array;
}

/** Required (an older libc fails the open, and nothing is recorded): Bun cannot load a table of optional symbols only. */
const EXTRA = {
  // pid_t gettid(void);  (glibc >= 2.30)
  gettid: { parameters: [], result: "i32" },
  // int tgkill(pid_t tgid, pid_t tid, int sig);  (glibc >= 2.30)
  tgkill: { parameters: ["i32", "i32", "i32"], result: "i32" },
} as const;

let table: Table | null | undefined;

/** Maps the table, or finds it mapped by another thread; null where it cannot be had. */
function open(): Table | null {
  const c = posixConstants(ffi.os);
  if (ffi.os !== "linux" || !c?.memfd || (ffi.arch !== "x64" && ffi.arch !== "arm64")) return null;
  const l = libc();
  const extra = ffi.open(c.libraries, EXTRA).symbols;
  const { gettid, tgkill } = extra;
  const { memfd_create, mmap, munmap, close, ftruncate, getpid } = l.lib.symbols;
  if (!memfd_create) return null;
  const pid = getpid() as number;
  const fd = memfd_create(new TextEncoder().encode("shm-threads\0"), c.memfd.MFD_CLOEXEC) as number;
  if (fd < 0) return null;
  try {
    if (ftruncate(fd, BYTES) !== 0) return null;
    const flags = c.MAP_SHARED | MAP_FIXED_NOREPLACE;
    const got = mmap(ADDRESS, BYTES, c.PROT_READ | c.PROT_WRITE, flags, fd, 0) as bigint;
    if (got !== ADDRESS) {
      // Already mapped (by another thread, or by something else), or a kernel without MAP_FIXED_NOREPLACE.
      if (got !== -1n && got !== 0xffffffffffffffffn) munmap(got, BYTES);
      const line = readText(l, "/proc/self/maps").split("\n").find((s) => s.startsWith(`${ADDRESS.toString(16)}-`));
      if (line === undefined || !line.includes("/memfd:shm-threads")) return null;
      const [start, end] = line.split(" ")[0].split("-").map((h) => BigInt(`0x${h}`));
      if (start !== ADDRESS || end - start !== BigInt(BYTES)) return null;
    }
  } finally {
    close(fd); // the mapping keeps the memory
  }
  const buffer = ffi.view(ADDRESS, BYTES);
  return {
    l,
    tid: () => gettid() as number,
    main: gettid() === pid,
    alive: (tid) => tgkill(pid, tid, 0) === 0 || l.errno() !== ESRCH,
    words: new Int32Array(buffer),
    longs: new BigUint64Array(buffer),
  };
}

function theTable(): Table | null {
  if (table === undefined) {
    try {
      table = open();
    } catch {
      table = null;
    }
  }
  return table;
}

/** Closes (and where allowed unmaps) what records of dead threads hold; returns how many it released. */
export function sweepDeadThreads(): number {
  const t = theTable();
  if (!t || Atomics.load(t.words, 0) === 0) return 0;
  const { words, longs, l } = t;
  let released = 0;
  for (let r = 1; r < RECORDS; r++) {
    const w = r * (RECORD / 4);
    if (Atomics.load(words, w) !== LIVE || t.alive(Atomics.load(words, w + 1))) continue;
    if (Atomics.compareExchange(words, w, LIVE, BUSY) !== LIVE) continue;
    const fd = Atomics.load(words, w + 2);
    const flags = Atomics.load(words, w + 3);
    const address = Atomics.load(longs, r * 4 + 2);
    const length = Atomics.load(longs, r * 4 + 3);
    if (flags & UNMAP) l.lib.symbols.munmap(address, length);
    if (fd >= 0) l.lib.symbols.close(fd);
    Atomics.sub(words, 0, 1);
    Atomics.store(words, w, FREE);
    released++;
  }
  if (t.main && !sweeping && Atomics.load(words, 0) > 0) startSweeping(t);
  return released;
}

let sweeping = false;

/** The main thread sweeps every {@link SWEEP_MS} while records are left (a timer that keeps nothing alive). */
function startSweeping(t: Table): void {
  sweeping = true;
  const tick = (): void => {
    sweepDeadThreads();
    if (Atomics.load(t.words, 0) === 0) sweeping = false;
    else ffi.unrefTimeout(tick, SWEEP_MS);
  };
  ffi.unrefTimeout(tick, SWEEP_MS);
}

/**
 * Records that this worker thread holds `fd` and the mapping at `address`
 * (in the main thread, which ends only with the process, nothing is
 * recorded, but the records of dead threads are swept). `unmap`: whether the mapping may be unmapped once the thread is
 * gone. Also sweeps the records of dead threads.
 */
export function remember(fd: number, address: bigint, length: number, unmap: boolean): ThreadRecord {
  const t = theTable();
  if (!t) return -1;
  sweepDeadThreads();
  if (t.main) return -1;
  unmap &&= ffi.runtime === "node"; // Deno and Bun move posted buffers: never unmap there
  if (fd < 0 && !unmap) return -1;
  const { words, longs } = t;
  for (let r = 1; r < RECORDS; r++) {
    const w = r * (RECORD / 4);
    if (Atomics.load(words, w) !== FREE || Atomics.compareExchange(words, w, FREE, BUSY) !== FREE) continue;
    Atomics.store(words, w + 1, t.tid());
    Atomics.store(words, w + 2, fd);
    Atomics.store(words, w + 3, unmap ? UNMAP : 0);
    Atomics.store(longs, r * 4 + 2, address);
    Atomics.store(longs, r * 4 + 3, BigInt(length));
    Atomics.add(words, 0, 1);
    Atomics.store(words, w, LIVE);
    return r;
  }
  return -1; // full: this mapping stays until the process ends
}

/** The mapping of `record` must stay mapped after all (its address was handed out, or a buffer escaped). */
export function keepMapped(record: ThreadRecord): void {
  if (record > 0 && table) Atomics.and(table.words, record * (RECORD / 4) + 3, ~UNMAP);
}

/** Drops `record` before its owner closes the descriptor itself. */
export function forget(record: ThreadRecord): void {
  if (record <= 0 || !table) return;
  const w = record * (RECORD / 4);
  if (Atomics.compareExchange(table.words, w, LIVE, FREE) === LIVE) Atomics.sub(table.words, 0, 1);
}
