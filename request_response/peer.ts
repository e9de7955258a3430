/**
 * What both ends of a request-response service share: process identities
 * packed into one 64-bit word (as the Mutex packs its owner, from
 * service/takeover.ts), the liveness check of a peer, the errors, and the
 * one place that sleeps on a word.
 *
 * @module
 */
import { ShmError } from "../errors.ts";
import { now } from "../platform/mod.ts";
import { block, blockAsync, wordAt } from "../internal/wait_loop.ts";
import type { Spinner, WaitPlan } from "../internal/wait_loop.ts";

/** How often a waiting end checks that its peer still lives, in milliseconds. */
export const CHECK_MS = 50;
/** How long a wait spins while its peer runs on another CPU, in microseconds. */
export const SPIN_MICROS = 50;

export { alive, identity, pidOf } from "../service/takeover.ts";

/** The error of a server that closed or died. */
export function serverGone(name: string, how: "closed" | "died"): ShmError {
  return new ShmError({
    code: "ERR_SERVER_GONE",
    errno: 0,
    message: `The server of request-response service '${name}' ${how}`,
    hint: "Requests in flight are lost; connect again once a server serves the name",
  });
}

/** The error of a port used after close(). */
export function closedPort(what: string): ShmError {
  return new ShmError({ code: "ERR_USE_AFTER_CLOSE", errno: 0, message: `${what} is closed` });
}

/** The error of a request or response used after it was released or answered. */
export function released(what: string): ShmError {
  return new ShmError({ code: "ERR_USE_AFTER_CLOSE", errno: 0, message: `${what} was released`, hint: "" });
}

/** The error of a wait that reached its deadline. */
export function timedOut(what: string, timeoutMs: number): ShmError {
  return new ShmError({
    code: "ERR_REQUEST_TIMEOUT",
    errno: 0,
    message: `${what} timed out after ${timeoutMs} ms`,
    hint: "",
  });
}

/**
 * The plan of a wait on a counting doorbell: `attempt` returns the result,
 * or undefined while there is none; the wait sleeps on `words[index]` with
 * the value read after it counted itself in `words[sleeping]` (-1: counts
 * nowhere), so that a ring after that read ends the sleep at once. Each
 * sleep lasts at most `sliceMs`, after which `attempt` runs again (and
 * checks the peer's liveness).
 */
function planOf<T>(
  attempt: () => T | undefined,
  words: Int32Array,
  index: number,
  sleeping: number,
  sliceMs: number,
): { plan: WaitPlan; result: () => T } {
  let result: T | undefined;
  let expected = 0;
  const plan: WaitPlan = {
    ready: () => (result = attempt()) !== undefined,
    watch: () => Atomics.load(words, index),
    arm: () => {
      if (sleeping >= 0) Atomics.add(words, sleeping, 1);
      expected = Atomics.load(words, index);
    },
    expected: () => expected,
    disarm: () => {
      if (sleeping >= 0 && words.length !== 0) Atomics.sub(words, sleeping, 1);
    },
    word: wordAt(words, index),
    sliceMs,
  };
  return { plan, result: () => result as T };
}

/**
 * Waits until `attempt` returns a result or `timeout` ms pass (then
 * undefined), blocking this thread; through the library's one wait loop,
 * spinning first with `spinner` while the peer runs on another CPU.
 */
export function until<T>(
  attempt: () => T | undefined,
  words: Int32Array,
  index: number,
  sleeping: number,
  timeout: number,
  spinner?: Spinner,
  sliceMs: number = CHECK_MS,
): T | undefined {
  const { plan, result } = planOf(attempt, words, index, sleeping, sliceMs);
  return block(plan, timeout, spinner) ? result() : undefined;
}

/** Like {@link until}, without blocking the event loop. */
export async function untilAsync<T>(
  attempt: () => T | undefined,
  words: Int32Array,
  index: number,
  sleeping: number,
  timeout: number,
  spinner?: Spinner,
): Promise<T | undefined> {
  const { plan, result } = planOf(attempt, words, index, sleeping, CHECK_MS);
  return (await blockAsync(plan, timeout, spinner)) ? result() : undefined;
}

/** The milliseconds left until `deadline` (0 once passed). */
export function left(deadline: number): number {
  return Math.max(0, deadline - now());
}
