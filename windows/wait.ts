/**
 * Waiting on shared memory on Windows: a polling fallback.
 *
 * `WaitOnAddress` only wakes threads of the same process, and no kernel32
 * call sleeps on a word shared between processes, so a waiter here checks
 * the word, spins briefly, then sleeps in growing steps (from
 * {@link POLL.firstSleepMs} to {@link POLL.maxSleepMs}) and re-checks.
 * Consequences, documented on `wait`/`notify`: a waiter returns "ok" when
 * the word no longer holds `expected` — a `notify` without a change to the
 * word wakes nobody — and `notify` returns 0 (it cannot know who is polling).
 * Latency is up to one sleep step, and on real Windows a sleep lasts at
 * least one timer tick: 15.6 ms by default (the system clock interval;
 * `timeBeginPeriod` lowers it for the whole system), so a wake there can take
 * that long. Wine's sleeps are finer, so the suite under Wine does not show it. The backend uses no Windows call, so it runs (and is tested) on
 * any system.
 *
 * @module
 */
import { ffi, now } from "../ffi/mod.ts";
import type { WaitBackend, WaitResult } from "../platform/contracts.ts";
import { ShmError } from "../errors.ts";

/** The polling schedule, as data. */
export const POLL = {
  /** Checks of the word before the first sleep. */
  spins: 200,
  /** First sleep, in milliseconds; each further sleep doubles it. */
  firstSleepMs: 0.05,
  /** Longest sleep between checks, in milliseconds. */
  maxSleepMs: 2,
} as const;

const sleeper = new Int32Array(new SharedArrayBuffer(4));

function check(word: Int32Array, expected: number): boolean {
  if (word.length === 0) {
    throw new ShmError({ code: "ERR_USE_AFTER_CLOSE", errno: 0, message: "The memory was closed while waiting on it" });
  }
  return Atomics.load(word, 0) !== expected;
}

/** A timer that does not keep the process alive. */
function sleepAsync(ms: number): Promise<void> {
  return new Promise((resolve) => ffi.unrefTimeout(resolve, ms));
}

/** The polling backend (any OS). */
export function pollingBackend(): WaitBackend {
  return {
    wait(word, _address, expected, timeoutMs): WaitResult {
      const deadline = now() + timeoutMs;
      for (let i = 0; i < POLL.spins; i++) if (check(word, expected)) return "ok";
      let step: number = POLL.firstSleepMs;
      for (;;) {
        if (check(word, expected)) return "ok";
        const left = deadline - now();
        if (left <= 0) return "timed-out";
        Atomics.wait(sleeper, 0, 0, Math.min(step, left));
        step = Math.min(step * 2, POLL.maxSleepMs);
      }
    },
    notify() {
      return 0;
    },
    async waitAsync(word, _address, expected, timeoutMs) {
      const deadline = now() + timeoutMs;
      let step: number = POLL.firstSleepMs;
      for (;;) {
        if (check(word, expected)) return "ok";
        const left = deadline - now();
        if (left <= 0) return "timed-out";
        await sleepAsync(Math.min(step, left));
        step = Math.min(step * 2, POLL.maxSleepMs);
      }
    },
  };
}

/** The wait backend for `os`, or `undefined` when it is not Windows. */
export function windowsWaitBackend(os: string): WaitBackend | undefined {
  return os === "win32" ? pollingBackend() : undefined;
}
