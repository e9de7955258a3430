/**
 * Blocking and waking across processes on a 32-bit word of shared memory,
 * like `Atomics.wait`/`Atomics.notify` (which do not work over memory that is
 * not a SharedArrayBuffer, and never across processes).
 *
 * @module
 */
import { checkTimeout, describe } from "./internal/options.ts";
import { ShmError } from "./errors.ts";
import { Region } from "./region.ts";
import { bufferOrigin } from "./internal/views.ts";
import { waitBackend } from "./platform/mod.ts";
import type { WaitResult } from "./types.ts";

const MAX_COUNT = 0x7fffffff;

interface Word {
  readonly word: Int32Array;
  readonly address: bigint;
}

function wordOf(target: unknown, index: unknown, what: string): Word {
  let array: Int32Array;
  if (target instanceof Region) array = target.array(Int32Array);
  else if (target instanceof Int32Array) array = target;
  else {
    throw new TypeError(`${what} needs an Int32Array or a Region, got ${describe(target)}`);
  }
  const origin = bufferOrigin(array.buffer);
  if (origin === undefined) {
    throw new TypeError(
      `${what} needs an Int32Array over shared memory made by shmem (from a Segment or Region), not over ordinary memory`,
    );
  }
  if (!origin.shared) {
    throw new TypeError(
      `${what} needs writable shared memory: this Int32Array is over a read-only or copy-on-write mapping, which other processes cannot wake`,
    );
  }
  if ((array.buffer as ArrayBuffer).detached) {
    throw new ShmError({ code: "ERR_USE_AFTER_CLOSE", errno: 0, message: `${what}: the memory is closed` });
  }
  if (typeof index !== "number") throw new TypeError(`${what} index must be a number, got ${typeof index}`);
  if (!Number.isInteger(index) || index < 0 || index >= array.length) {
    throw new RangeError(`${what} index must be an integer from 0 to ${array.length - 1}, got ${describe(index)}`);
  }
  const byteOffset = array.byteOffset + index * 4;
  const address = origin.address + BigInt(byteOffset);
  if (address % 4n !== 0n) throw new RangeError(`${what} needs a 4-byte aligned word, got address ${address}`);
  return { word: array.subarray(index, index + 1), address };
}

function checkExpected(expected: unknown): number {
  if (typeof expected !== "number") throw new TypeError(`wait expected value must be a number, got ${typeof expected}`);
  if (!Number.isInteger(expected) || expected < -0x80000000 || expected > 0xffffffff) {
    throw new RangeError(`wait expected value must be a 32-bit integer, got ${describe(expected)}`);
  }
  return expected | 0;
}

/**
 * Blocks this thread while `target[index]` holds `expected`, until another
 * thread or process calls {@link notify} on the same word, or `timeoutMs`
 * passes. Works across processes and runtimes: Linux shared futex, macOS
 * `os_sync_wait_on_address`/`__ulock_wait`; on Windows a word of a named
 * Segment sleeps on a named semaphore derived from the mapping's name and
 * the word's offset (other memory, such as a MappedFile, has no name another
 * process can know: it polls and returns "ok" once the word changes). As
 * with `Atomics.wait`, a wake can be spurious: re-check the condition in a
 * loop.
 *
 * @param target An Int32Array over a Segment's memory (`region.array(Int32Array)`),
 *   or a Region (its Int32Array view).
 * @param index The word, in elements of the Int32Array.
 * @param expected Sleep only while the word holds this value.
 * @param timeoutMs Longest wait in milliseconds. Default `Infinity` (so is any value over 2^53 - 1).
 * @returns "ok" when woken, "not-equal" when the word did not hold
 *   `expected`, "timed-out" when `timeoutMs` passed (never earlier).
 * @throws {TypeError} when `target` is not an Int32Array over writable shmem memory or a Region.
 * @throws {RangeError} when `index`, `expected` or `timeoutMs` is out of range.
 * @example Wait for a flag another process sets
 * ```ts
 * import { notify, Segment, uniqueName, wait } from "./mod.ts";
 *
 * using seg = Segment.create(uniqueName(), { size: 4096 });
 * const flags = seg.region(0, 64).array(Int32Array);
 * // Another process: Atomics.store(flags, 0, 1); notify(flags, 0);
 * while (Atomics.load(flags, 0) === 0) {
 *   if (wait(flags, 0, 0, 10) === "timed-out") break;
 * }
 * seg.unlink();
 * ```
 */
export function wait(target: Int32Array | Region, index: number, expected: number, timeoutMs?: number): WaitResult {
  const { word, address } = wordOf(target, index, "wait");
  const value = checkExpected(expected);
  const timeout = checkTimeout(timeoutMs, "Wait timeout");
  if (Atomics.load(word, 0) !== value) return "not-equal";
  return waitBackend().wait(word, address, value, timeout);
}

/**
 * Like {@link wait}, without blocking: the event loop keeps running while a
 * few threads shared by all pending waits of the process sleep in the kernel
 * (on Linux 5.16+ one thread sleeps on up to 127 words with `futex_waitv`;
 * 10,000 pending waits cost a handful of threads). Waits beyond what those
 * threads hold (hundreds, depending on the runtime) are polled every few
 * milliseconds and then see only a changed word, not a bare notify. Like a timer or a socket read (and unlike
 * `Atomics.waitAsync`), a pending wait keeps the process alive until it
 * settles, so `await waitAsync(...)` at the top level of a program works. If
 * the memory is closed while waiting, the Promise rejects with a ShmError
 * `ERR_USE_AFTER_CLOSE` within about 100 ms, and the process may exit.
 *
 * @param target An Int32Array over a Segment's memory, or a Region.
 * @param index The word, in elements.
 * @param expected Sleep only while the word holds this value.
 * @param timeoutMs Longest wait in milliseconds. Default `Infinity` (so is any value over 2^53 - 1).
 * @returns A Promise of "ok", "not-equal" or "timed-out" (never before `timeoutMs`).
 * @throws {TypeError} (synchronously) when `target` is not an Int32Array over writable shmem memory or a Region.
 * @throws {RangeError} (synchronously) when `index`, `expected` or `timeoutMs` is out of range.
 * @example Wait without blocking the event loop
 * ```ts
 * import { notify, Segment, uniqueName, waitAsync } from "./mod.ts";
 *
 * using seg = Segment.create(uniqueName(), { size: 4096 });
 * const word = seg.region(0, 4);
 * const woken = waitAsync(word, 0, 0, 1000);
 * setTimeout(() => {
 *   Atomics.store(word.array(Int32Array), 0, 1);
 *   notify(word, 0);
 * }, 10);
 * console.log(await woken); // "ok"
 * seg.unlink();
 * ```
 */
export function waitAsync(
  target: Int32Array | Region,
  index: number,
  expected: number,
  timeoutMs?: number,
): Promise<WaitResult> {
  const { word, address } = wordOf(target, index, "waitAsync");
  const value = checkExpected(expected);
  const timeout = checkTimeout(timeoutMs, "Wait timeout");
  if (Atomics.load(word, 0) !== value) return Promise.resolve("not-equal");
  if (timeout === 0) return Promise.resolve("timed-out");
  hold();
  return waitBackend().waitAsync(word, address, value, timeout).finally(release);
}

// One timer holds the event loop open while any waitAsync is pending (the off-thread calls do not).
let pending = 0;
let alive: ReturnType<typeof setInterval> | undefined;
function hold(): void {
  if (pending++ === 0) alive = setInterval(() => {}, 2 ** 30);
}
function release(): void {
  if (--pending === 0) clearInterval(alive);
}

/**
 * Wakes up to `count` threads, in any process, waiting in {@link wait} or
 * {@link waitAsync} on `target[index]`. Change the word before notifying:
 * where waiters poll (Windows memory without a name, such as a MappedFile)
 * only a changed word wakes a waiter.
 *
 * @param target An Int32Array over a Segment's memory, or a Region.
 * @param index The word, in elements.
 * @param count Most waiters to wake. Default: all.
 * @returns How many were woken (Linux; Windows named Segments, where a waiter
 *   leaving at that moment may still be counted); 1 when some were and the
 *   count is not reported (macOS); 0 where waiters poll.
 * @throws {TypeError} when `target` is not an Int32Array over writable shmem memory or a Region.
 * @throws {RangeError} when `index` or `count` is out of range.
 * @example Set a flag and wake its waiters
 * ```ts
 * import { notify, Segment, uniqueName } from "./mod.ts";
 *
 * using seg = Segment.create(uniqueName(), { size: 4096 });
 * const flags = seg.region(0, 64).array(Int32Array);
 * Atomics.store(flags, 0, 1);
 * const woken = notify(flags, 0); // 0: nobody was waiting
 * seg.unlink();
 * ```
 */
export function notify(target: Int32Array | Region, index: number, count?: number): number {
  const { word, address } = wordOf(target, index, "notify");
  let n = MAX_COUNT;
  if (count !== undefined) {
    if (typeof count !== "number") throw new TypeError(`notify count must be a number, got ${typeof count}`);
    if (Number.isNaN(count) || count < 0 || (!Number.isInteger(count) && count !== Infinity)) {
      throw new RangeError(`notify count must be an integer of 0 or more (or Infinity), got ${describe(count)}`);
    }
    n = Math.min(count, MAX_COUNT);
  }
  if (n === 0) return 0;
  return waitBackend().notify(word, address, n);
}
