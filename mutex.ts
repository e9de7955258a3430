/**
 * A lock in shared memory that survives its owner's crash.
 *
 * @module
 */
import { checkTimeout } from "./internal/options.ts";
import { ShmError } from "./errors.ts";
import { Region } from "./region.ts";
import { notify, wait, waitAsync } from "./wait.ts";
import { now } from "./internal/wait_backend.ts";
import { processProbe } from "./internal/process_probe.ts";

/** What {@link Mutex.lock} and {@link Mutex.lockAsync} end with. */
export type LockResult = "locked" | "owner-died" | "timed-out";

/** What {@link Mutex.tryLock} ends with. */
export type TryLockResult = "locked" | "owner-died" | "busy";

/** Bits of the owner word that hold the pid (Linux caps pids at 2^22). */
const PID_BITS = 22n;
const PID_MASK = (1n << PID_BITS) - 1n;
/** How often a waiter checks that the owner still lives, in milliseconds. */
const CHECK_MS = 50;

const SEQ = 0;
const WAITERS = 1;

let self: bigint | undefined;

function identity(): bigint {
  if (self === undefined) {
    const { pid, start } = processProbe().self();
    self = BigInt(pid) | (BigInt(start) << PID_BITS);
  }
  return self;
}

/**
 * A mutual-exclusion lock living in {@link Mutex.BYTES} bytes of shared
 * memory, usable at once by Deno, Bun and Node processes. It is owned by a
 * process (not a thread): any code of the owning process may unlock it,
 * and `lockAsync` may lock it from the event loop.
 *
 * Robust: when the owner dies holding it (even by SIGKILL), the next locker
 * gets it with the result "owner-died" and should repair the data it guards.
 * Waiters notice a dead owner within {@link Mutex.CHECK_MS} ms.
 *
 * Layout (16 bytes, 8-byte aligned; all zero is an unlocked mutex):
 * - bytes 0–7: the owner, a little-endian 64-bit word `pid | start << 22`
 *   (start: the owner's start time in clock ticks after boot), 0 when free;
 *   taken and released with a 64-bit compare-and-swap;
 * - bytes 8–11: a wake sequence, bumped on every unlock (the futex word);
 * - bytes 12–15: how many waiters sleep on it.
 *
 * Guarantees and limits: mutual exclusion among every process that maps the
 * memory; a dead owner is detected on Linux by its pid and start time (pid
 * reuse is not mistaken for the owner; a zombie is dead), on macOS by
 * `kill(pid, 0)` only (a recycled pid looks alive), on Windows by its process
 * id and creation time (OpenProcess, GetExitCodeProcess, GetProcessTimes).
 * All processes must share one pid namespace (containers
 * with their own pid namespaces cannot share a mutex). Not recursive: a
 * process that locks it twice waits for itself (with a timeout, times out).
 * Not fair.
 *
 * @example Guard a shared counter
 * ```ts
 * import { Mutex, Segment, uniqueName } from "./mod.ts";
 *
 * using seg = Segment.create(uniqueName(), { size: 4096 });
 * const lock = Mutex.init(seg.region(0, Mutex.BYTES)); // once, by the creator
 * const same = new Mutex(seg.region(0, Mutex.BYTES));   // in any process
 * const data = seg.region(64, 8).array(Int32Array);
 * if (same.lock() === "owner-died") data[1] = 0;        // repair after a crash
 * try {
 *   data[0]++;
 * } finally {
 *   same.unlock();
 * }
 * lock.tryLock(); // "locked"
 * lock.unlock();
 * seg.unlink();
 * ```
 */
export class Mutex {
  /** Bytes a mutex occupies. */
  static readonly BYTES: number = 16;
  /** Alignment its region's offset needs, in bytes. */
  static readonly ALIGN: number = 8;
  /** How often a waiter checks that the owner still lives, in milliseconds. */
  static readonly CHECK_MS: number = CHECK_MS;

  readonly #owner: BigInt64Array;
  readonly #words: Int32Array;

  /**
   * Uses the mutex in the first {@link Mutex.BYTES} bytes of `region`. Zeroed
   * memory (a new Segment) is an unlocked mutex; see {@link Mutex.init} to
   * reset one.
   *
   * @throws {TypeError} when `region` is not a Region.
   * @throws {RangeError} when it is shorter than 16 bytes or its offset is not a multiple of 8.
   * @example
   * ```ts
   * import { Mutex, Segment, uniqueName } from "./mod.ts";
   * using seg = Segment.create(uniqueName(), { size: 4096 });
   * const lock = new Mutex(seg.region(0, Mutex.BYTES));
   * seg.unlink();
   * ```
   */
  constructor(region: Region) {
    if (!(region instanceof Region)) {
      throw new TypeError(`Mutex needs a Region of a Segment, got ${region === null ? "null" : typeof region}`);
    }
    if (region.length < Mutex.BYTES) {
      throw new RangeError(`Mutex needs a Region of at least ${Mutex.BYTES} bytes, got ${region.length}`);
    }
    if (region.offset % Mutex.ALIGN !== 0) {
      throw new RangeError(
        `Mutex needs a Region at an offset that is a multiple of ${Mutex.ALIGN}, got ${region.offset}`,
      );
    }
    if (region.readOnly) {
      throw new TypeError("Mutex needs writable shared memory, got a read-only or copy-on-write Region");
    }
    const own = region.region(0, Mutex.BYTES);
    this.#owner = own.region(0, 8).array(BigInt64Array);
    this.#words = own.region(8, 8).array(Int32Array);
  }

  /**
   * Resets the mutex in `region` to unlocked and returns it. Call it once,
   * before other processes use the memory; never while anyone may hold it.
   *
   * @example
   * ```ts
   * import { Mutex, Segment, uniqueName } from "./mod.ts";
   * using seg = Segment.create(uniqueName(), { size: 4096 });
   * const lock = Mutex.init(seg.region(64, Mutex.BYTES));
   * seg.unlink();
   * ```
   */
  static init(region: Region): Mutex {
    const mutex = new Mutex(region);
    Atomics.store(mutex.#owner, 0, 0n);
    Atomics.store(mutex.#words, SEQ, 0);
    Atomics.store(mutex.#words, WAITERS, 0);
    return mutex;
  }

  /** Whether `owner` has certainly died. */
  #dead(owner: bigint): boolean {
    const me = identity();
    const pid = Number(owner & PID_MASK);
    const start = Number(owner >> PID_BITS);
    if (pid === Number(me & PID_MASK)) return owner !== me; // an earlier process with our pid
    return !processProbe().alive(pid, start);
  }

  /**
   * Takes the mutex if it is free (or its owner died), without waiting.
   *
   * @returns "locked", "owner-died" (locked; the previous owner died holding
   *   it, repair the data), or "busy".
   * @example
   * ```ts
   * import { Mutex, Segment, uniqueName } from "./mod.ts";
   * using seg = Segment.create(uniqueName(), { size: 4096 });
   * const lock = new Mutex(seg.region(0, Mutex.BYTES));
   * if (lock.tryLock() !== "busy") lock.unlock();
   * seg.unlink();
   * ```
   */
  tryLock(): TryLockResult {
    const me = identity();
    const owner = Atomics.compareExchange(this.#owner, 0, 0n, me);
    if (owner === 0n) return "locked";
    if (this.#dead(owner) && Atomics.compareExchange(this.#owner, 0, owner, me) === owner) return "owner-died";
    return "busy";
  }

  /**
   * Takes the mutex, blocking this thread until it is free, its owner dies,
   * or `timeoutMs` passes.
   *
   * @param timeoutMs Longest wait in milliseconds. Default `Infinity` (so is any value over 2^53 - 1).
   * @returns "locked", "owner-died" (locked; repair the data), or "timed-out" (not locked).
   * @example
   * ```ts
   * import { Mutex, Segment, uniqueName } from "./mod.ts";
   * using seg = Segment.create(uniqueName(), { size: 4096 });
   * const lock = new Mutex(seg.region(0, Mutex.BYTES));
   * if (lock.lock(1000) !== "timed-out") lock.unlock();
   * seg.unlink();
   * ```
   */
  lock(timeoutMs?: number): LockResult {
    const timeout = checkTimeout(timeoutMs, "Lock timeout");
    const deadline = now() + timeout;
    for (;;) {
      const seq = Atomics.load(this.#words, SEQ);
      const got = this.tryLock();
      if (got !== "busy") return got;
      const left = deadline - now();
      if (left <= 0) return "timed-out";
      Atomics.add(this.#words, WAITERS, 1);
      try {
        wait(this.#words, SEQ, seq, Math.min(left, CHECK_MS));
      } finally {
        Atomics.sub(this.#words, WAITERS, 1);
      }
    }
  }

  /**
   * Like {@link Mutex.lock}, without blocking the event loop. Like a timer,
   * a pending lockAsync keeps the process alive until it settles.
   *
   * @param timeoutMs Longest wait in milliseconds. Default `Infinity` (so is any value over 2^53 - 1).
   * @returns A Promise of "locked", "owner-died" or "timed-out".
   * @example
   * ```ts
   * import { Mutex, Segment, uniqueName } from "./mod.ts";
   * using seg = Segment.create(uniqueName(), { size: 4096 });
   * const lock = new Mutex(seg.region(0, Mutex.BYTES));
   * if ((await lock.lockAsync(1000)) !== "timed-out") lock.unlock();
   * seg.unlink();
   * ```
   */
  async lockAsync(timeoutMs?: number): Promise<LockResult> {
    const timeout = checkTimeout(timeoutMs, "Lock timeout");
    const deadline = now() + timeout;
    for (;;) {
      const seq = Atomics.load(this.#words, SEQ);
      const got = this.tryLock();
      if (got !== "busy") return got;
      const left = deadline - now();
      if (left <= 0) return "timed-out";
      Atomics.add(this.#words, WAITERS, 1);
      try {
        await waitAsync(this.#words, SEQ, seq, Math.min(left, CHECK_MS));
      } finally {
        Atomics.sub(this.#words, WAITERS, 1);
      }
    }
  }

  /**
   * Releases the mutex and wakes one waiter.
   *
   * @throws {ShmError} `EPERM` when this process does not hold it.
   * @example
   * ```ts
   * import { Mutex, Segment, uniqueName } from "./mod.ts";
   * using seg = Segment.create(uniqueName(), { size: 4096 });
   * const lock = new Mutex(seg.region(0, Mutex.BYTES));
   * lock.lock();
   * lock.unlock();
   * seg.unlink();
   * ```
   */
  unlock(): void {
    const me = identity();
    const owner = Atomics.compareExchange(this.#owner, 0, me, 0n);
    if (owner !== me) {
      throw new ShmError({
        code: "EPERM",
        errno: 1,
        syscall: undefined,
        message: owner === 0n
          ? "Cannot unlock a mutex that is not locked"
          : "Cannot unlock a mutex another process holds",
      });
    }
    Atomics.add(this.#words, SEQ, 1);
    if (Atomics.load(this.#words, WAITERS) > 0) notify(this.#words, SEQ, 1);
  }
}
