/**
 * A lock in shared memory that survives its owner's crash.
 *
 * @module
 */
import { checkTimeout } from "./internal/options.ts";
import { ShmError } from "./errors.ts";
import { Region } from "./region.ts";
import { block, blockAsync, now, wake, wordAt } from "./internal/wait_loop.ts";
import type { WaitPlan, Word } from "./internal/wait_loop.ts";
import { processProbe } from "./platform/mod.ts";
import { bufferOrigin } from "./internal/views.ts";

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

/** The longest single timer (setTimeout takes at most 2^31 − 1 ms). */
const MAX_TIMER_MS = 2 ** 30;

let self: bigint | undefined;

/**
 * The mutexes this thread holds, by the address of their owner word: the
 * wake sequence when it took one. An unlock (by any thread of this process)
 * bumps the sequence, so a stale entry never matches.
 */
const held = new Map<bigint, number>();

/** A lockAsync call of this thread waiting for its turn. */
interface Ticket {
  turn: (() => void) | undefined;
}

/** The lockAsync calls of this thread per mutex, in call order; the first one competes for the lock. */
const queues = new Map<bigint, Ticket[]>();

function closedError(): ShmError {
  return new ShmError({ code: "ERR_USE_AFTER_CLOSE", errno: 0, message: "The memory under this mutex was closed" });
}

/** Resolves true when `ticket` gets its turn, false once `deadline` passes; keeps the process alive meanwhile. */
function turn(ticket: Ticket, deadline: number): Promise<boolean> {
  return new Promise((resolve) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const alive = setInterval(() => {}, MAX_TIMER_MS);
    const settle = (mine: boolean) => {
      ticket.turn = undefined;
      clearTimeout(timer);
      clearInterval(alive);
      resolve(mine);
    };
    ticket.turn = () => settle(true);
    const arm = () => {
      const left = deadline - now();
      if (left <= 0) settle(false);
      else if (left !== Infinity) timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
    };
    arm();
  });
}

function identity(): bigint {
  if (self === undefined) {
    const { pid, start } = processProbe().self();
    self = BigInt(pid) | (BigInt(start) << PID_BITS);
  }
  return self;
}

/**
 * How a locker waits: ready when tryLock takes the mutex; sleeps on the wake
 * sequence (counted among the waiters) for at most CHECK_MS, then checks
 * whether the owner died.
 */
class Locker implements WaitPlan {
  readonly word: Word;
  readonly sliceMs = CHECK_MS;
  /** What the last tryLock gave. */
  got: TryLockResult = "busy";
  readonly #words: Int32Array;
  readonly #try: () => TryLockResult;
  #seq = 0;

  constructor(words: Int32Array, tryLock: () => TryLockResult) {
    this.#words = words;
    this.word = wordAt(words, SEQ);
    this.#try = tryLock;
  }

  watch(): number {
    return Atomics.load(this.#words, SEQ);
  }

  ready(): boolean {
    this.#seq = Atomics.load(this.#words, SEQ);
    return (this.got = this.#try()) !== "busy";
  }

  arm(): void {
    Atomics.add(this.#words, WAITERS, 1);
  }

  expected(): number {
    return this.#seq;
  }

  disarm(): void {
    if (this.#words.length !== 0) Atomics.sub(this.#words, WAITERS, 1);
  }
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
 * with their own pid namespaces cannot share a mutex).
 *
 * Not recursive, and it says so: a synchronous `lock()` by the thread that
 * already holds it would wait for itself forever, so it throws `ShmError`
 * `ERR_MUTEX_DEADLOCK` at once (another thread of the same process, which
 * the holder can still release it for, waits as usual); `tryLock()` returns
 * "busy". `lockAsync()` calls never deadlock the thread: the calls one thread
 * makes queue behind the holder (also when that is the same thread) and get
 * the lock in the order they were made. `unlock()` of a mutex nobody holds
 * throws `ERR_MUTEX_NOT_LOCKED`, of one another process holds
 * `ERR_MUTEX_NOT_OWNER`. Once the memory is closed every call throws (and a
 * pending `lockAsync` rejects with) `ERR_USE_AFTER_CLOSE`. Not fair between
 * processes.
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
  readonly #locker: Locker;
  /** The owner word's address: the key of this thread's records of it. */
  readonly #key: bigint;

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
    const origin = bufferOrigin(this.#owner.buffer);
    this.#key = origin === undefined ? -1n : origin.address + BigInt(this.#owner.byteOffset);
    this.#locker = new Locker(this.#words, () => this.tryLock());
  }

  /** Throws ERR_USE_AFTER_CLOSE once the memory is closed. */
  #live(): void {
    if (this.#owner.length === 0 || this.#words.length === 0) throw closedError();
  }

  /** Whether this thread took the mutex and nobody released it since. */
  #mine(): boolean {
    const seq = held.get(this.#key);
    return seq !== undefined && seq === Atomics.load(this.#words, SEQ) && Atomics.load(this.#owner, 0) === identity();
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
    held.delete(mutex.#key);
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
   *   it, repair the data), or "busy" (also when this thread holds it).
   * @throws {ShmError} `ERR_USE_AFTER_CLOSE` when the memory is closed.
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
    this.#live();
    const me = identity();
    const owner = Atomics.compareExchange(this.#owner, 0, 0n, me);
    let got: TryLockResult = "busy";
    if (owner === 0n) got = "locked";
    else if (this.#dead(owner) && Atomics.compareExchange(this.#owner, 0, owner, me) === owner) got = "owner-died";
    if (got !== "busy") held.set(this.#key, Atomics.load(this.#words, SEQ));
    return got;
  }

  /**
   * Takes the mutex, blocking this thread until it is free, its owner dies,
   * or `timeoutMs` passes.
   *
   * @param timeoutMs Longest wait in milliseconds. Default `Infinity` (so is any value over 2^53 - 1).
   * @returns "locked", "owner-died" (locked; repair the data), or "timed-out" (not locked).
   * @throws {ShmError} `ERR_MUTEX_DEADLOCK` when this thread already holds it
   *   (it would wait for itself); `ERR_USE_AFTER_CLOSE` when the memory is closed.
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
    this.#live();
    if (this.#mine()) {
      throw new ShmError({
        code: "ERR_MUTEX_DEADLOCK",
        errno: 0,
        message: "This thread already holds the mutex; locking it again would wait forever (EDEADLK)",
        hint: "unlock() it first; a Mutex is not recursive (lockAsync() would queue behind the holder instead)",
      });
    }
    const locker = this.#locker;
    return block(locker, timeout) ? locker.got as LockResult : "timed-out";
  }

  /**
   * Like {@link Mutex.lock}, without blocking the event loop. Like a timer,
   * a pending lockAsync keeps the process alive until it settles. It never
   * fails because this process or thread holds the mutex: the lockAsync
   * calls of one thread queue behind the holder and get the mutex in the
   * order they were made (calls through the same mapping of the memory; a
   * synchronous `lock()` or `tryLock()` does not queue).
   *
   * @param timeoutMs Longest wait in milliseconds, the time in the queue included. Default `Infinity`
   *   (so is any value over 2^53 - 1).
   * @returns A Promise of "locked", "owner-died" or "timed-out"; it rejects
   *   with `ShmError` `ERR_USE_AFTER_CLOSE` when the memory is closed.
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
    this.#live();
    const deadline = now() + timeout;
    const key = this.#key;
    let queue = queues.get(key);
    if (queue === undefined) queues.set(key, queue = []);
    const ticket: Ticket = { turn: undefined };
    queue.push(ticket);
    try {
      if (queue[0] !== ticket && !(await turn(ticket, deadline))) return "timed-out";
      return await this.#acquireAsync(deadline);
    } finally {
      const first = queue[0] === ticket;
      queue.splice(queue.indexOf(ticket), 1);
      if (queue.length === 0) queues.delete(key);
      else if (first) queue[0].turn?.();
    }
  }

  /** The first queued lockAsync of this thread: competes for the mutex until `deadline`. */
  async #acquireAsync(deadline: number): Promise<LockResult> {
    const locker = this.#locker;
    return await blockAsync(locker, Math.max(0, deadline - now())) ? locker.got as LockResult : "timed-out";
  }

  /**
   * Releases the mutex and wakes one waiter (every waiter when a lockAsync
   * of this thread is queued, so that it is among them).
   *
   * @throws {ShmError} `ERR_MUTEX_NOT_LOCKED` when nobody holds it,
   *   `ERR_MUTEX_NOT_OWNER` when another process holds it, `ERR_USE_AFTER_CLOSE`
   *   when the memory is closed.
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
    this.#live();
    const me = identity();
    const owner = Atomics.compareExchange(this.#owner, 0, me, 0n);
    if (owner !== me) {
      throw owner === 0n
        ? new ShmError({
          code: "ERR_MUTEX_NOT_LOCKED",
          errno: 0,
          message: "Cannot unlock a mutex that is not locked",
          hint:
            'Call unlock() once per successful lock(), lockAsync() or tryLock() (a result other than "timed-out" or "busy")',
        })
        : new ShmError({
          code: "ERR_MUTEX_NOT_OWNER",
          errno: 0,
          message: `Cannot unlock a mutex that another process (pid ${owner & PID_MASK}) holds`,
          hint: "Only the process that locked it may unlock it; a dead owner's lock is taken over by the next lock()",
        });
    }
    held.delete(this.#key);
    Atomics.add(this.#words, SEQ, 1);
    if (queues.has(this.#key)) wake(this.#locker.word, 0x7fffffff);
    else if (Atomics.load(this.#words, WAITERS) > 0) wake(this.#locker.word, 1);
  }
}
