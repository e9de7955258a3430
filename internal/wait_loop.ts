/**
 * The one wait loop of every blocking call (Channel, Mutex): poll, then spin
 * while the peer runs on another CPU, yield the CPU while it shares this one,
 * then sleep on a word of shared memory. A synchronous and an asynchronous
 * driver run the same {@link WaitPlan}.
 *
 * The loop calls the platform's wait backend directly, with arguments it
 * checked once when the {@link Word} was made, not the public
 * `wait()`/`notify()`, which check their input on every call.
 *
 * @module
 */
import { ShmError } from "../errors.ts";
import { notify, wait, waitAsync } from "../wait.ts";
import { bufferOrigin } from "./views.ts";
import { currentCpu, now, waitBackend, yieldCpu } from "../platform/mod.ts";

export { now };

/** A 32-bit word of shared memory to sleep on and wake. */
export interface Word {
  /** The Int32Array the word is in, and its index there. */
  readonly array: Int32Array;
  readonly index: number;
  /** A one-element view of the word. */
  readonly view: Int32Array;
  /** Its address, or undefined when shmem cannot wake it across processes (then the public calls explain why). */
  readonly address: bigint | undefined;
}

/** The word `array[index]` (an index the caller has checked). */
export function wordAt(array: Int32Array, index: number): Word {
  const origin = bufferOrigin(array.buffer);
  const address = origin === undefined || !origin.shared
    ? undefined
    : origin.address + BigInt(array.byteOffset + index * 4);
  return { array, index, view: array.subarray(index, index + 1), address };
}

function closedError(): ShmError {
  return new ShmError({ code: "ERR_USE_AFTER_CLOSE", errno: 0, message: "The memory was closed while waiting on it" });
}

/** Wakes up to `count` sleepers on `w` in any process; how many were woken, when the platform tells. */
export function wake(w: Word, count: number): number {
  if (w.address === undefined) return notify(w.array, w.index, count);
  if (w.view.length === 0) throw closedError();
  return waitBackend().notify(w.view, w.address, count);
}

/**
 * Wakes one sleeper on `word` if `words[hint]` (a word the sleeper sets
 * before it sleeps, or `word` itself) says it sleeps: clears `word`, and
 * makes the system call only when `word` was set.
 */
export function wakeIfAsleep(words: Int32Array, hint: number, word: Word): void {
  if (Atomics.load(words, hint) !== 0 && Atomics.exchange(word.array, word.index, 0) !== 0) wake(word, 1);
}

/**
 * What a blocked call waits for, and how it announces that it sleeps. The
 * loop calls {@link WaitPlan.ready} first, then between spins and yields,
 * after {@link WaitPlan.arm} and after every sleep; it sleeps on `word` while
 * it holds {@link WaitPlan.expected}.
 */
export interface WaitPlan {
  /** Whether the wait is over (the condition holds, or the call must return now). */
  ready(): boolean;
  /** A cheap reading (one word) that changes when `ready` may have become true: spinning polls it between readies. */
  watch(): number;
  /** Announces the sleep (a flag, a count of waiters). */
  arm(): void;
  /** The value `word` holds while sleeping makes sense (read after arm and a last ready). */
  expected(): number;
  /** Takes the announcement back; the memory may have been closed meanwhile. */
  disarm(): void;
  /** The word to sleep on. */
  readonly word: Word;
  /** Longest single sleep in milliseconds (a plan that must re-check on its own sets it). */
  readonly sliceMs: number;
}

/** The most polls {@link Spinner.polls} grants (a few microseconds). */
const POLLS = 1024;

/** How many times a blocked call yields the CPU to a peer on the same CPU before it sleeps. */
const YIELDS = 4;

/**
 * Where the two sides of a wait run: each side notes its CPU in a word of
 * shared memory, and a blocked side spins only while the other is awake on
 * another CPU, and yields while it is awake on this one.
 */
export class Spinner {
  readonly #words: Int32Array;
  readonly #mine: number;
  readonly #peer: number;
  readonly #peerAsleep: number;
  readonly #micros: number;
  #cpu = -1;
  #ops = 0;

  /**
   * @param words Shared memory holding the three words below.
   * @param mine Index of this side's CPU word.
   * @param peer Index of the peer's CPU word.
   * @param peerAsleep Index of a word that is not 0 while the peer sleeps.
   * @param micros Longest spin in microseconds; 0 never spins or yields.
   */
  constructor(words: Int32Array, mine: number, peer: number, peerAsleep: number, micros: number) {
    this.#words = words;
    this.#mine = mine;
    this.#peer = peer;
    this.#peerAsleep = peerAsleep;
    this.#micros = micros;
  }

  /** Notes this thread's CPU every 64 calls (one `sched_getcpu` each), storing it only when it changed. */
  note(): void {
    if ((this.#ops++ & 63) !== 0 || this.#micros === 0) return;
    const cpu = currentCpu();
    this.#cpu = cpu;
    if (Atomics.load(this.#words, this.#mine) !== cpu) Atomics.store(this.#words, this.#mine, cpu);
  }

  /**
   * How many cheap polls a caller may spin on a word by itself before it
   * runs the loop: a share of the spin budget while the peer is awake on
   * another CPU (as {@link Spinner.run} would spin), else 0. No system call.
   */
  polls(): number {
    if (this.#micros === 0 || this.#cpu < 0) return 0;
    const w = this.#words;
    const peer = Atomics.load(w, this.#peer);
    if (peer < 0 || peer === this.#cpu || Atomics.load(w, this.#peerAsleep) !== 0) return 0;
    return Math.min(POLLS, Math.ceil(this.#micros * 16));
  }

  /** Spins (or, with `mayYield`, yields) until `plan` is ready or the spin ends; true when ready. */
  run(plan: WaitPlan, deadline: number, mayYield: boolean): boolean {
    if (this.#micros === 0) return false;
    const w = this.#words;
    const cpu = this.#cpu;
    const peer = Atomics.load(w, this.#peer);
    if (cpu < 0 || peer < 0 || Atomics.load(w, this.#peerAsleep) !== 0) return false;
    if (cpu === peer) {
      if (!mayYield) return false;
      for (let i = 0; i < YIELDS; i++) {
        if (Atomics.load(w, this.#peerAsleep) !== 0 || !yieldCpu()) return false;
        if (plan.ready()) return true;
      }
      return false;
    }
    let seen = plan.watch();
    let end = Infinity;
    for (let i = 1;; i++) {
      const v = plan.watch();
      if (v !== seen || (i & 63) === 0) {
        seen = v;
        if (plan.ready()) return true;
      }
      if ((i & 1023) !== 0) continue;
      if (end === Infinity) end = Math.min(deadline, now() + this.#micros / 1000);
      else if (Atomics.load(w, this.#peerAsleep) !== 0 || now() >= end) return false;
    }
  }
}

const deadlineOf = (timeout: number) => timeout === Infinity ? Infinity : now() + timeout;

/** Milliseconds to sleep now (at most the plan's slice), or -1 when the deadline has passed. */
function slice(plan: WaitPlan, deadline: number): number {
  const left = deadline === Infinity ? Infinity : deadline - now();
  return left <= 0 ? -1 : Math.min(left, plan.sliceMs);
}

/**
 * The sleeping rounds of a wait: arms the plan, checks it once more, and
 * yields how long to sleep; returns whether the plan became ready. The
 * drivers sleep between rounds; closing the generator disarms the plan.
 */
function* rounds(plan: WaitPlan, deadline: number): Generator<number, boolean> {
  const { word } = plan;
  for (;;) {
    plan.arm();
    try {
      if (plan.ready()) return true;
      const ms = slice(plan, deadline);
      if (ms < 0) return false;
      if (word.address !== undefined && word.view.length === 0) throw closedError();
      if (Atomics.load(word.view, 0) !== plan.expected()) continue; // changed already: no need to sleep
      yield ms;
    } finally {
      plan.disarm();
    }
    if (plan.ready()) return true;
  }
}

/**
 * Waits until `plan` is ready or `timeout` ms (0, finite, or Infinity) have
 * passed, blocking this thread; true when ready. (Small, so that the spin
 * path compiles well; the sleeping rounds are in {@link sleep}.)
 */
export function block(plan: WaitPlan, timeout: number, spinner?: Spinner): boolean {
  if (plan.ready()) return true;
  if (timeout === 0) return false;
  const deadline = deadlineOf(timeout);
  if (spinner !== undefined && spinner.run(plan, deadline, true)) return true;
  return sleep(plan, deadline);
}

/** The sleeping rounds of {@link block}. */
function sleep(plan: WaitPlan, deadline: number): boolean {
  const { word } = plan;
  const steps = rounds(plan, deadline);
  try {
    let step = steps.next();
    for (; !step.done; step = steps.next()) {
      if (word.address === undefined) wait(word.array, word.index, plan.expected(), step.value);
      else waitBackend().wait(word.view, word.address, plan.expected(), step.value);
    }
    return step.value;
  } finally {
    steps.return(false);
  }
}

/**
 * Like {@link block}, without blocking the event loop: the sleep happens off
 * the main thread, and the process stays alive meanwhile. It spins as
 * {@link block} does but never yields the CPU.
 */
export async function blockAsync(plan: WaitPlan, timeout: number, spinner?: Spinner): Promise<boolean> {
  if (plan.ready()) return true;
  if (timeout === 0) return false;
  const deadline = deadlineOf(timeout);
  if (spinner !== undefined && spinner.run(plan, deadline, false)) return true;
  const { word } = plan;
  const steps = rounds(plan, deadline);
  const alive = setInterval(() => {}, 2 ** 30);
  try {
    let step = steps.next();
    for (; !step.done; step = steps.next()) {
      if (word.address === undefined) await waitAsync(word.array, word.index, plan.expected(), step.value);
      else await waitBackend().waitAsync(word.view, word.address, plan.expected(), step.value);
    }
    return step.value;
  } finally {
    steps.return(false);
    clearInterval(alive);
  }
}
