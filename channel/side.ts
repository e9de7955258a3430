/**
 * One side of a channel as the wait loop sees it: the condition it waits
 * for, and its flags in the header (docs/channel.md, "Waiting").
 *
 * @module
 */
import { ShmError } from "../errors.ts";
import { wakeIfAsleep, wordAt } from "../internal/wait_loop.ts";
import type { WaitPlan, Word } from "../internal/wait_loop.ts";
import { I_CLOSED, RECEIVER, SENDER, SENDER_WAITS } from "./layout.ts";
import type { Role } from "./layout.ts";

export function closedError(): ShmError {
  return new ShmError({ code: "ERR_CHANNEL_CLOSED", errno: 0, message: "The channel is closed" });
}

/** Throws ERR_USE_AFTER_CLOSE once the memory under `h` is closed. */
export function live(h: Int32Array): true {
  if (h.length === 0) {
    throw new ShmError({ code: "ERR_USE_AFTER_CLOSE", errno: 0, message: "The memory under this channel was closed" });
  }
  return true;
}

/** A role's wait: ready when `check()` holds or the channel is closed; sleeps on the role's sleeping word. */
export class Side implements WaitPlan {
  readonly word: Word;
  readonly sliceMs = Infinity;
  readonly #h: Int32Array;
  readonly #role: Role;
  readonly #check: () => boolean;
  /** See {@link WaitPlan.watch}. */
  readonly watch: () => number;

  constructor(h: Int32Array, role: Role, check: () => boolean, watch: () => number) {
    this.#h = h;
    this.#role = role;
    this.word = wordAt(h, role.sleeping);
    this.#check = check;
    this.watch = watch;
  }

  ready(): boolean {
    return this.#check() || Atomics.load(this.#h, I_CLOSED) !== 0;
  }

  /**
   * The hint first (the sender reads the receiver's after every message; the
   * receiver's spin reads the sender's), then the futex word; the sender then
   * sets its bit in tail, which the receiver's next move of tail returns.
   */
  arm(): void {
    const h = this.#h;
    Atomics.store(h, this.#role.hint, 1);
    Atomics.exchange(h, this.#role.sleeping, 1);
    if (this.#role === SENDER) Atomics.or(h, RECEIVER.position, SENDER_WAITS);
  }

  expected(): number {
    return 1;
  }

  disarm(): void {
    const h = this.#h;
    if (h.length === 0) return;
    if (this.#role === SENDER) Atomics.and(h, RECEIVER.position, ~SENDER_WAITS);
    Atomics.store(h, this.#role.sleeping, 0);
    Atomics.store(h, this.#role.hint, 0);
  }

  /** Wakes this side if its hint says it sleeps: the sender calls it after publishing. */
  wake(): void {
    wakeIfAsleep(this.#h, this.#role.hint, this.word);
  }

  /** Wakes this side if its futex word says it sleeps: the receiver calls it when tail carried the sender's bit. */
  wakeSleeper(): void {
    wakeIfAsleep(this.#h, this.#role.sleeping, this.word);
  }
}
