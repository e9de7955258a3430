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
 * address and length, whether the mapping may be unmapped, and which file the
 * descriptor names (`st_dev`, `st_ino`). Any thread's next open, and an
 * unref'd timer while records are left, sweep the table: a record whose
 * thread no longer exists (`tgkill(pid, tid, 0)` fails with ESRCH) has its
 * descriptor closed, always safe, since the descriptor belonged to that
 * record only.
 *
 * A thread releasing its own mapping marks the record CLOSING first and
 * clears its unmap flag, then unmaps and closes, then frees the record: in
 * Node `worker.terminate()` can stop that release anywhere. A LIVE record of
 * a dead thread still owns its descriptor; a CLOSING one may already have
 * closed it and its number may name another file now, so the sweeper closes
 * it only if it still names the recorded file, and unmaps only a mapping
 * whose unmap flag is still set (never one the thread may have unmapped).
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
import { statDescriptor } from "./stat.ts";
import { mapFailed, posixConstants } from "./constants.ts";
import { cString } from "./cstring.ts";
import { errnoNumbers } from "./errno.ts";

/** Where the table lives in every process: below 2^39, so inside a 39-bit arm64 address space. */
const ADDRESS = 0x3e5e000000n;
/** 64-byte records; record 0 is the header (its first word counts live records). */
const RECORD = 64;
const WORDS = RECORD / 4;
const LONGS = RECORD / 8;
const RECORDS = 2048;
const BYTES = RECORD * RECORDS;
const MAP_FIXED_NOREPLACE = 0x100000;
/** How often a thread with shmem loaded looks for records of dead threads while any exist. */
const SWEEP_MS = 1000;

const FREE = 0;
const BUSY = 1;
const LIVE = 2;
/** Its thread is releasing it: the descriptor may be closed already. */
const CLOSING = 3;
/** The record's mapping may be unmapped once its thread is gone. */
const UNMAP = 1;
/** The record holds the descriptor's `st_dev` and `st_ino`. */
const IDENTIFIED = 2;

interface Table {
  readonly l: Libc;
  readonly tid: () => number;
  /** Whether this is the process's main thread (its thread id is the pid; Deno's Web Workers are not "main" either). */
  readonly main: boolean;
  readonly alive: (tid: number) => boolean;
  /** Per record: state, tid, fd, flags (i32 words 0..3); address, length, st_dev, st_ino (u64 words 2..5). */
  readonly words: Int32Array;
  readonly longs: BigUint64Array;
}

let table: Table | null | undefined;

/** Maps the table, or finds it mapped by another thread; null where it cannot be had. */
function open(): Table | null {
  const c = posixConstants(ffi.os);
  if (ffi.os !== "linux" || !c?.memfd || (ffi.arch !== "x64" && ffi.arch !== "arm64")) return null;
  const l = libc();
  const { memfd_create, mmap, munmap, close, ftruncate, getpid, gettid, tgkill } = l.lib.symbols;
  if (!memfd_create || !gettid || !tgkill) return null; // gettid and tgkill: glibc >= 2.30
  const pid = getpid();
  const { ESRCH } = errnoNumbers(c.os);
  const fd = memfd_create(cString("shm-threads"), c.memfd.MFD_CLOEXEC);
  if (fd < 0) return null;
  try {
    if (ftruncate(fd, BYTES) !== 0) return null;
    const flags = c.MAP_SHARED | MAP_FIXED_NOREPLACE;
    const got = mmap(ADDRESS, BYTES, c.PROT_READ | c.PROT_WRITE, flags, fd, 0);
    if (got !== ADDRESS) {
      // Already mapped (by another thread, or by something else), or a kernel without MAP_FIXED_NOREPLACE.
      if (!mapFailed(got)) munmap(got, BYTES);
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
    tid: () => gettid(),
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
    const w = r * WORDS;
    const state = Atomics.load(words, w);
    if ((state !== LIVE && state !== CLOSING) || t.alive(Atomics.load(words, w + 1))) continue;
    if (Atomics.compareExchange(words, w, state, BUSY) !== state) continue;
    const fd = Atomics.load(words, w + 2);
    const flags = Atomics.load(words, w + 3);
    const address = Atomics.load(longs, r * LONGS + 2);
    const length = Atomics.load(longs, r * LONGS + 3);
    if (flags & UNMAP) l.lib.symbols.munmap(address, length);
    if (fd >= 0 && (state === LIVE || (flags & IDENTIFIED && namesRecordedFile(t, r, fd)))) l.lib.symbols.close(fd);
    Atomics.sub(words, 0, 1);
    Atomics.store(words, w, FREE);
    released++;
  }
  if (t.main && !sweeping && Atomics.load(words, 0) > 0) startSweeping(t);
  return released;
}

/** Whether `fd` still names the file record `r` recorded (a closed number may have been reused). */
function namesRecordedFile(t: Table, r: number, fd: number): boolean {
  try {
    const status = statDescriptor(t.l, fd);
    return status !== undefined && status.dev === Atomics.load(t.longs, r * LONGS + 4) &&
      status.ino === Atomics.load(t.longs, r * LONGS + 5);
  } catch {
    return false; // closed (EBADF): nothing of the record's is left open
  }
}

/** `st_dev` and `st_ino` of `fd`, or undefined when they cannot be read. */
function identity(t: Table, fd: number): readonly [bigint, bigint] | undefined {
  try {
    const status = fd < 0 ? undefined : statDescriptor(t.l, fd);
    return status && [status.dev, status.ino];
  } catch {
    return undefined;
  }
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
  const file = identity(t, fd);
  for (let r = 1; r < RECORDS; r++) {
    const w = r * WORDS;
    if (Atomics.load(words, w) !== FREE || Atomics.compareExchange(words, w, FREE, BUSY) !== FREE) continue;
    Atomics.store(words, w + 1, t.tid());
    Atomics.store(words, w + 2, fd);
    Atomics.store(words, w + 3, (unmap ? UNMAP : 0) | (file ? IDENTIFIED : 0));
    Atomics.store(longs, r * LONGS + 2, address);
    Atomics.store(longs, r * LONGS + 3, BigInt(length));
    Atomics.store(longs, r * LONGS + 4, file?.[0] ?? 0n);
    Atomics.store(longs, r * LONGS + 5, file?.[1] ?? 0n);
    Atomics.add(words, 0, 1);
    Atomics.store(words, w, LIVE);
    return r;
  }
  return -1; // full: this mapping stays until the process ends
}

/** The mapping of `record` must stay mapped after all (its address was handed out, or a buffer escaped). */
export function keepMapped(record: ThreadRecord): void {
  if (record > 0 && table) Atomics.and(table.words, record * WORDS + 3, ~UNMAP);
}

/**
 * This thread starts releasing `record` itself: from now on a sweeper closes
 * the descriptor only while it names the recorded file, and never unmaps.
 * With `unmap`, a mapping the record may unmap is unmapped here, right after
 * its flag is cleared (stopped in between, it stays mapped; it is never
 * unmapped twice); returns whether it was.
 */
export function closing(record: ThreadRecord, unmap: boolean): boolean {
  if (record <= 0 || !table) return false;
  const { words, longs, l } = table;
  const w = record * WORDS;
  if (Atomics.compareExchange(words, w, LIVE, CLOSING) !== LIVE) return false;
  if (!(Atomics.and(words, w + 3, ~UNMAP) & UNMAP) || !unmap) return false;
  l.lib.symbols.munmap(Atomics.load(longs, record * LONGS + 2), Atomics.load(longs, record * LONGS + 3));
  return true;
}

/** Drops `record` once its owner released the mapping and closed the descriptor itself. */
export function forget(record: ThreadRecord): void {
  if (record <= 0 || !table) return;
  const w = record * WORDS;
  const state = Atomics.load(table.words, w);
  if (state !== LIVE && state !== CLOSING) return;
  if (Atomics.compareExchange(table.words, w, state, FREE) === state) Atomics.sub(table.words, 0, 1);
}
