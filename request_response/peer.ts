/**
 * What both ends of a request-response service share: process identities
 * packed into one 64-bit word (as the Mutex packs its owner), the liveness
 * check of a peer, the errors, and the one place that sleeps on a word.
 *
 * @module
 */
import { ShmError } from "../errors.ts";
import { now, processProbe } from "../platform/mod.ts";
import { wait, waitAsync } from "../wait.ts";

/** Bits of an identity word that hold the pid. */
const PID_BITS = 22n;
const PID_MASK = (1n << PID_BITS) - 1n;

/** How often a waiting end checks that its peer still lives, in milliseconds. */
export const CHECK_MS = 50;

let self: bigint | undefined;

/** This process as an identity word: `pid | start << 22`, never 0. */
export function identity(): bigint {
  if (self === undefined) {
    const { pid, start } = processProbe().self();
    self = BigInt(pid) | (BigInt(start) << PID_BITS);
  }
  return self;
}

/** The pid in an identity word. */
export function pidOf(owner: bigint): number {
  return Number(owner & PID_MASK);
}

/** False only when the process `owner` names has certainly ended (this process is alive). */
export function alive(owner: bigint): boolean {
  if (owner === identity()) return true;
  const pid = pidOf(owner);
  if (pid === pidOf(identity())) return false; // an earlier process with our pid
  return processProbe().alive(pid, Number(BigInt.asUintN(64, owner) >> PID_BITS));
}

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

/** One sleep a wait loop asks for: on `words[index]` while it holds `expected`, for at most `ms`. */
export interface Nap {
  readonly words: Int32Array;
  readonly index: number;
  readonly expected: number;
  readonly ms: number;
}

/**
 * A wait written once for both drivers: a generator that checks its
 * condition, yields a {@link Nap} when it must sleep, and returns the result.
 */
export type WaitLoop<T> = Generator<Nap, T, void>;

/** How long one nap may last: at most {@link CHECK_MS}, so that the loop re-checks its peer regularly. */
const napMs = (nap: Nap) => Math.max(0, Math.min(nap.ms, CHECK_MS));

/**
 * Runs `loop`, blocking this thread in its naps. This and {@link runAsync}
 * are the one place the service sleeps: a spurious or missed wake costs at
 * most one nap, never a hang.
 */
export function runSync<T>(loop: WaitLoop<T>): T {
  let step = loop.next();
  while (!step.done) {
    const nap = step.value;
    try {
      wait(nap.words, nap.index, nap.expected, napMs(nap));
    } catch (error) {
      step = loop.throw(error);
      continue;
    }
    step = loop.next();
  }
  return step.value;
}

/** Runs `loop` without blocking the event loop: its naps sleep off the main thread. */
export async function runAsync<T>(loop: WaitLoop<T>): Promise<T> {
  let step = loop.next();
  while (!step.done) {
    const nap = step.value;
    try {
      await waitAsync(nap.words, nap.index, nap.expected, napMs(nap));
    } catch (error) {
      step = loop.throw(error);
      continue;
    }
    step = loop.next();
  }
  return step.value;
}

/** The milliseconds left until `deadline` (0 once passed). */
export function left(deadline: number): number {
  return Math.max(0, deadline - now());
}
