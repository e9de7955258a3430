/**
 * What the two sides of a publish-subscribe service wait for, as plans for
 * the shared wait loop: a subscriber for an entry in its ring (or for the
 * publisher to be gone), a blocked publisher for room in one subscriber's
 * ring (or for that subscriber to be gone). Each plan checks the peer's
 * process once a slice, so no wait outlives the peer.
 *
 * @module
 */
import { now, Spinner, wordAt } from "../internal/wait_loop.ts";
import type { WaitPlan, Word } from "../internal/wait_loop.ts";
import { C, SLOT } from "./layout.ts";
import type { Port } from "./port.ts";

/** How long one sleep lasts before the sleeper checks its peer's process, in milliseconds. */
export const SLICE_MS = 50;

/** The base of both plans: a word to watch and sleep on, a flag that says so, a throttled liveness check. */
abstract class Plan implements WaitPlan {
  readonly word: Word;
  readonly sliceMs = SLICE_MS;
  protected readonly port: Port;
  readonly #flag: number;
  #seen = 0;
  #probed = 0;

  constructor(port: Port, watched: number, flag: number) {
    this.port = port;
    this.word = wordAt(port.words, watched);
    this.#flag = flag;
  }

  /** Starts a wait: the first liveness check is a slice away. */
  begin(): this {
    this.#probed = now();
    return this;
  }

  /** Whether a slice passed since the last liveness check (then it counts as done). */
  protected probeDue(): boolean {
    const t = now();
    if (t - this.#probed < SLICE_MS) return false;
    this.#probed = t;
    return true;
  }

  abstract ready(): boolean;

  watch(): number {
    return Atomics.load(this.word.array, this.word.index);
  }

  /** The flag first, then the slept-on word's value: a change after this is seen before sleeping. */
  arm(): void {
    Atomics.store(this.port.words, this.#flag, 1);
    this.#seen = Atomics.load(this.word.array, this.word.index);
  }

  expected(): number {
    return this.#seen;
  }

  disarm(): void {
    if (this.port.words.length !== 0) Atomics.store(this.port.words, this.#flag, 0);
  }
}

/**
 * Subscriber `i` waits for an entry at its ring's tail, or for the publisher
 * to close or die: it spins on that entry's stamp (the line that carries the
 * news) and sleeps on head.
 */
export class ReceivePlan extends Plan {
  readonly #slot: number;
  /** The wait loop's spinner for this side: it spins while the publisher runs on another CPU. */
  readonly spinner: Spinner;

  constructor(port: Port, i: number, spinMicros: number) {
    const s = port.state;
    super(port, s.slot(i, SLOT.head), s.slot(i, SLOT.waiting));
    this.#slot = i;
    this.spinner = new Spinner(port.words, s.slot(i, SLOT.cpu), C.pubCpu, C.pubWaiting, spinMicros);
  }

  override watch(): number {
    return this.port.state.stampAtTail(this.#slot);
  }

  ready(): boolean {
    const { state, words } = this.port;
    if (state.ready(this.#slot) || Atomics.load(words, C.pubState) !== 1) return true;
    return this.probeDue() && this.port.publisherGone() !== undefined;
  }
}

/** The publisher waits for room in slot `i`'s ring (block policy), or for that subscriber to leave or die. */
export class RoomPlan extends Plan {
  readonly #slot: number;
  readonly spinner: Spinner;

  constructor(port: Port, i: number, spinMicros: number) {
    const s = port.state;
    super(port, s.slot(i, SLOT.tail), C.pubWaiting);
    this.#slot = i;
    this.spinner = new Spinner(port.words, C.pubCpu, s.slot(i, SLOT.cpu), s.slot(i, SLOT.waiting), spinMicros);
  }

  ready(): boolean {
    const { state, words } = this.port;
    const i = this.#slot;
    if (Atomics.load(words, state.slot(i, SLOT.state)) !== 1 || state.roomNow(i)) return true;
    return this.probeDue() && this.port.slotDead(i);
  }
}
