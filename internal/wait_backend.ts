/**
 * The internal interface between {@link wait}/{@link notify} and the
 * platform code that blocks a thread on a 32-bit word of shared memory, and
 * the choice of backend for this operating system.
 *
 * @module
 */
import { ffi } from "../ffi/mod.ts";
import { posixWaitBackend } from "../posix/futex.ts";
import { windowsWaitBackend } from "../windows/wait.ts";

/** What a wait ended with, as `Atomics.wait` names it. */
export type WaitResult = "ok" | "not-equal" | "timed-out";

/**
 * One platform's way to sleep on a word and wake the sleepers. Arguments
 * arrive validated: `word` is a one-element Int32Array over the word,
 * `address` its address, `timeoutMs` a finite number >= 0 or Infinity.
 * Every method may wake spuriously ("ok" with the word unchanged); callers
 * re-check their condition.
 */
export interface WaitBackend {
  /** Blocks this thread while the word equals `expected`. Never returns before `timeoutMs` has passed on "timed-out". */
  wait(word: Int32Array, address: bigint, expected: number, timeoutMs: number): WaitResult;
  /** Wakes up to `count` waiters (any process); returns how many were woken, when the platform can tell. */
  notify(word: Int32Array, address: bigint, count: number): number;
  /** Like wait, off the main thread. */
  waitAsync(word: Int32Array, address: bigint, expected: number, timeoutMs: number): Promise<WaitResult>;
}

/** The longest one off-thread wait may block before it returns to re-check (a Node process waits for it to exit). */
export const SLICE_MS = 100;

/** Milliseconds on a monotonic clock. */
export const now = (): number => performance.now();

function unsupported(os: string): WaitBackend {
  const fail = (): never => {
    throw new Error(`shmem cannot wait on shared memory on '${os}' (supported: Linux, macOS, Windows)`);
  };
  return { wait: fail, notify: fail, waitAsync: fail };
}

/** The backend for `os` (`process.platform` spelling). */
export function waitBackendFor(os: string): WaitBackend {
  return posixWaitBackend(os) ?? windowsWaitBackend(os) ?? unsupported(os);
}

let current: WaitBackend | undefined;

/** The backend of this process's OS. */
export function waitBackend(): WaitBackend {
  return current ??= waitBackendFor(ffi.os);
}
