/**
 * One waiter for every pending `waitAsync` of this process: a few
 * off-thread calls that each sleep on many words at once, instead of one
 * thread per pending wait.
 *
 * The platform supplies a {@link Sleeper}: how many words one call can sleep
 * on ({@link Sleeper.perCall}: 127 with Linux `futex_waitv`, whose 128th word
 * is the group's control word; 1 with a plain futex or macOS) and how many
 * such calls may be pending at once ({@link Sleeper.maxCalls}, the runtime's
 * `maxNonblocking`). Each call belongs to a {@link SleepGroup}; waits are
 * placed in a group with room, a group that is asleep is rung (its control
 * word changed and woken) so that it comes back and sleeps on the new set,
 * and nobody else is woken.
 *
 * Waits beyond `perCall × maxCalls` (over 762 on Deno with `futex_waitv`) do
 * not sleep in the kernel: they are polled, every {@link pollMs} milliseconds,
 * and settle "ok" when their word changes (a notify that leaves the word as
 * it was is not seen). They move into a group as soon as one has room.
 *
 * A call reports one woken word per return: when a notify that leaves its
 * word as it was reaches a second word of the same call before that call's
 * thread runs again, that second wake is not seen (a changed word always is,
 * by the check below). Hence "change the word before notifying".
 *
 * After every call returns, each member of its group is checked: a closed
 * memory rejects with `ERR_USE_AFTER_CLOSE`, a changed word (or the word the
 * kernel reported woken) is "ok", a passed deadline "timed-out"; the others
 * sleep again. A call sleeps at most {@link SLICE_MS}, so a wait whose memory
 * is closed rejects within about that long.
 *
 * @module
 */
import { ShmError } from "../errors.ts";
import { ffi, now, SLICE_MS } from "../ffi/mod.ts";
import type { WaitResult } from "../platform/contracts.ts";

/** One word to sleep on: a one-element view of it, its address and the value it must hold. */
export interface SleepEntry {
  readonly word: Int32Array;
  readonly address: bigint;
  readonly expected: number;
}

/** One off-thread sleeper with its own memory (its control word, its list of words). */
export interface SleepGroup {
  /**
   * Sleeps off the main thread while every entry's word holds its expected
   * value, until one is woken (resolves with its index), the group is rung,
   * `untilMs` (on the {@link now} clock) passes, or a spurious wake (-1).
   * At most one call per group is pending.
   */
  sleep(entries: readonly SleepEntry[], untilMs: number): Promise<number>;
  /**
   * Makes a pending {@link sleep} return soon (with -1); absent when the platform cannot (then calls are short).
   * A call over one word may be rung by waking that word, a spurious wake for its other waiters.
   */
  readonly ring?: () => void;
  /**
   * Called after calls returned -1 several times in a row with nothing to
   * show for it: repeats the call synchronously with no time to wait and
   * returns the error it fails with, or undefined when it is only spurious.
   */
  readonly diagnose?: (entries: readonly SleepEntry[]) => Error | undefined;
}

/** A platform's way to sleep on many words: see the module documentation. */
export interface Sleeper {
  readonly perCall: number;
  readonly maxCalls: number;
  group(): SleepGroup;
}

/** How long polled waits (those beyond the groups' room) sleep between checks: 1 ms per 1,000, from 2 to 20 ms. */
export function pollMs(polled: number): number {
  return Math.min(20, Math.max(2, polled / 1000));
}

interface Pending extends SleepEntry {
  readonly deadline: number;
  readonly resolve: (result: WaitResult) => void;
  readonly reject: (error: unknown) => void;
  done: boolean;
}

interface Group {
  readonly sleeper: SleepGroup;
  members: Pending[];
  busy: boolean;
  rung: boolean;
  /** How many words the pending call sleeps on. */
  asleep: number;
}

function closedWhileWaiting(): ShmError {
  return new ShmError({ code: "ERR_USE_AFTER_CLOSE", errno: 0, message: "The memory was closed while waiting on it" });
}

/** Settles `p` if its memory closed, its word changed or its deadline passed; true when it did. */
function settleIfDone(p: Pending, t: number): boolean {
  if (p.done) return true;
  if (p.word.length === 0) p.reject(closedWhileWaiting());
  else if (Atomics.load(p.word, 0) !== p.expected) p.resolve("ok");
  else if (t >= p.deadline) p.resolve("timed-out");
  else return false;
  p.done = true;
  return true;
}

/** Consecutive empty returns before a group asks {@link SleepGroup.diagnose}. */
const SUSPICIOUS = 3;

/** The engine over `sleeper`: a `waitAsync` for already validated arguments. */
export class Waiter {
  readonly #sleeper: Sleeper;
  readonly #groups: Group[] = [];
  /** Waits with no room in a group, oldest first. */
  #polled: Pending[] = [];
  #pollScheduled = false;

  /**
   * When true, a platform builds the backends it makes from then on with the
   * one-word-a-call sleeper of older kernels (Linux before 5.16), as if the
   * many-word call were missing: lets tests run that fallback on any kernel.
   */
  static singleWord = false;

  /** An engine over `sleeper`. */
  constructor(sleeper: Sleeper) {
    this.#sleeper = sleeper;
  }

  /** How many calls are sleeping now and how many waits are polled (for tests and benchmarks). */
  get stats(): { groups: number; sleeping: number; polled: number } {
    return {
      groups: this.#groups.length,
      sleeping: this.#groups.filter((g) => g.busy).length,
      polled: this.#polled.length,
    };
  }

  /** Sleeps until `word` (at `address`) no longer holds `expected`, it is woken, or `timeoutMs` passes. */
  wait(word: Int32Array, address: bigint, expected: number, timeoutMs: number): Promise<WaitResult> {
    return new Promise((resolve, reject) => {
      const p: Pending = { word, address, expected, deadline: now() + timeoutMs, resolve, reject, done: false };
      if (!this.#place(p)) {
        this.#polled.push(p);
        this.#schedulePoll();
      }
    });
  }

  /**
   * Puts `p` in a group with room; false when none has room. An idle group
   * comes first, then a new one (while fewer than `maxCalls` exist), and only
   * then a sleeping one, which must be rung: a ring costs that call a wake-up
   * and a new sleep, and delays the waits already in it.
   */
  #place(p: Pending): boolean {
    const { perCall, maxCalls } = this.#sleeper;
    const room = (g: Group) => g.members.length < perCall;
    let group = this.#groups.find((g) => !g.busy && room(g));
    if (group === undefined && this.#groups.length < maxCalls) {
      group = { sleeper: this.#sleeper.group(), members: [], busy: false, rung: false, asleep: 0 };
      this.#groups.push(group);
    }
    // A call over several words first: ringing a call over one word may wake that word's other waiters too.
    const ringable = (g: Group) => room(g) && g.sleeper.ring !== undefined;
    group ??= this.#groups.find((g) => ringable(g) && g.asleep > 1) ?? this.#groups.find(ringable);
    if (group === undefined) return false;
    group.members.push(p);
    if (group.busy) {
      if (!group.rung) {
        group.rung = true;
        group.sleeper.ring!();
      }
    } else {
      void this.#run(group);
    }
    return true;
  }

  async #run(group: Group): Promise<void> {
    group.busy = true;
    let empty = 0;
    try {
      for (;;) {
        const t = now();
        group.members = group.members.filter((p) => !settleIfDone(p, t));
        this.#refill(group, t);
        if (group.members.length === 0) return;
        const asleep = group.members.slice();
        let until = t + SLICE_MS;
        for (const p of asleep) if (p.deadline < until) until = p.deadline;
        group.rung = false;
        group.asleep = asleep.length;
        let woken: number;
        try {
          woken = await group.sleeper.sleep(asleep, until);
        } catch (error) {
          for (const p of group.members) if (!p.done) (p.done = true, p.reject(error));
          group.members = [];
          return;
        }
        const back = now();
        if (woken >= 0 && woken < asleep.length) {
          const p = asleep[woken];
          if (!p.done) {
            p.done = true;
            if (p.word.length === 0) p.reject(closedWhileWaiting());
            else p.resolve("ok");
          }
          empty = 0;
        } else if (woken < 0 && back < until - 1 && !group.rung && !asleep.some((p) => settleIfDone(p, back))) {
          // Back early with nothing changed: spurious, or a call that always fails.
          if (++empty >= SUSPICIOUS) {
            empty = 0;
            const error = group.sleeper.diagnose?.(asleep.filter((p) => !p.done));
            if (error !== undefined) {
              for (const p of asleep) if (!p.done) (p.done = true, p.reject(error));
            }
          }
        } else {
          empty = 0;
        }
      }
    } finally {
      group.busy = false;
    }
  }

  /** Moves polled waits into `group` while it has room. */
  #refill(group: Group, t: number): void {
    const room = this.#sleeper.perCall - group.members.length;
    if (room <= 0 || this.#polled.length === 0) return;
    const moved: Pending[] = [];
    let i = 0;
    for (; i < this.#polled.length && moved.length < room; i++) {
      const p = this.#polled[i];
      if (!settleIfDone(p, t)) moved.push(p);
    }
    this.#polled = this.#polled.slice(i);
    group.members.push(...moved);
  }

  #schedulePoll(): void {
    if (this.#pollScheduled) return;
    this.#pollScheduled = true;
    // Unref'd: the caller's keep-alive holds the process open while anything is pending.
    ffi.unrefTimeout(() => {
      this.#pollScheduled = false;
      const t = now();
      this.#polled = this.#polled.filter((p) => !settleIfDone(p, t));
      // A group may have room again (its call is still asleep): place what fits.
      while (this.#polled.length > 0) {
        const p = this.#polled[0];
        if (!this.#place(p)) break;
        this.#polled.shift();
      }
      if (this.#polled.length > 0) this.#schedulePoll();
    }, pollMs(this.#polled.length));
  }
}
