/**
 * Waiting on shared memory on Windows: the choice between the kernel backend
 * (windows/wait_kernel.ts) and the polling fallback defined here.
 *
 * `WaitOnAddress` only wakes threads of the same process, so words of a
 * named mapping (a Segment) sleep on named semaphores derived from the
 * mapping's name and the word's offset (windows/wait_objects.ts). Memory with
 * no name another process can know (a `MappedFile`'s unnamed mapping) polls:
 * a waiter checks the word, spins briefly, then sleeps in growing steps (from
 * {@link POLL.firstSleepMs} to {@link POLL.maxSleepMs}) and re-checks. A
 * polled waiter returns "ok" when the word no longer holds `expected` — a
 * `notify` without a change to the word wakes nobody — and its latency is up
 * to one sleep step; on real Windows a sleep lasts at least one timer tick
 * (15.6 ms by default), so such a wake there can take that long. The polling
 * backend uses no Windows call, so it runs (and is tested) on any system.
 *
 * @module
 */
import { ffi, now } from "../ffi/mod.ts";
import type { WaitBackend, WaitResult } from "../platform/contracts.ts";
import { ShmError } from "../errors.ts";
import { kernelWaitBackend } from "./wait_kernel.ts";

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

/** How this process waits on Windows: "kernel" (the default) or "polling" (as shmem did before; for benchmarks). */
export type WindowsWaitDesign = "kernel" | "polling";

let design: WindowsWaitDesign = "kernel";

/**
 * Chooses how later waits and notifies of this process work on Windows.
 * For benchmarks and tests that compare the designs; a process that notifies
 * with "polling" only changes words, which kernel waiters see within about
 * 100 ms.
 */
export function setWindowsWaitDesign(next: WindowsWaitDesign): void {
  if (next !== "kernel" && next !== "polling") throw new TypeError(`Unknown Windows wait design '${String(next)}'`);
  design = next;
}

/** The wait backend for `os`, or `undefined` when it is not Windows. */
export function windowsWaitBackend(os: string): WaitBackend | undefined {
  if (os !== "win32") return undefined;
  const polling = pollingBackend();
  let kernel: WaitBackend | undefined;
  let tried = false;
  const pick = (): WaitBackend => {
    if (design === "polling") return polling;
    if (!tried) (tried = true, kernel = kernelWaitBackend(polling));
    return kernel ?? polling;
  };
  return {
    wait: (word, address, expected, timeoutMs) => pick().wait(word, address, expected, timeoutMs),
    notify: (word, address, count) => pick().notify(word, address, count),
    waitAsync: (word, address, expected, timeoutMs) => pick().waitAsync(word, address, expected, timeoutMs),
  };
}
