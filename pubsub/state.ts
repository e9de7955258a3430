/**
 * The shared state of a publish-subscribe service as plain functions over its
 * words (docs/pubsub.md): the per-subscriber rings of sample indices, the
 * sample records with their holder masks, the history ring. Nothing here
 * waits or calls the system, so it runs over a SharedArrayBuffer in tests.
 * Every value read from shared memory is checked before it is used, and every
 * loop is bounded by the layout's sizes.
 *
 * @module
 */
import { C, CONTROL_BYTES, FLAG_HISTORY, FLAG_LOANED, invalid, REC, RECORD_BYTES, SLOT, SLOT_BYTES } from "./layout.ts";
import type { PubSubLayout } from "./layout.ts";

/** How often one take may lose its compare-and-swap before the memory counts as hostile. */
const MAX_RACES = 4096;

/** The words of one service's control, slot, queue, record and history areas. */
export class PubSubState {
  readonly layout: PubSubLayout;
  /** Int32 words from the layout's start to the payload. */
  readonly words: Int32Array;
  readonly #block: boolean;
  /** Per slot this process subscribes on: its tail as this process last moved it (block policy). */
  readonly #tails: number[] = [];

  constructor(words: Int32Array, layout: PubSubLayout) {
    this.words = words;
    this.layout = layout;
    this.#block = layout.policy === "block";
  }

  /** Word index of field `w` of slot `i`. */
  slot(i: number, w: number): number {
    return (CONTROL_BYTES + SLOT_BYTES * i) / 4 + w;
  }

  /** Word index of field `w` of sample record `j`. */
  record(j: number, w: number): number {
    return (this.layout.recordsOffset + RECORD_BYTES * j) / 4 + w;
  }

  /** Word index of the entry at position `n` of slot `i`'s ring (its stamp; the sample index follows). */
  entry(i: number, n: number): number {
    return this.layout.queuesOffset / 4 + 2 * (this.layout.depth * i + ((n >>> 0) % this.layout.depth));
  }

  /** Entries queued for slot `i`, checked against the depth. */
  queued(i: number): number {
    const n =
      (Atomics.load(this.words, this.slot(i, SLOT.head)) - Atomics.load(this.words, this.slot(i, SLOT.tail))) >>>
      0;
    if (n > this.layout.depth) throw invalid(`subscriber ${i}'s queue holds ${n} entries, more than its depth`);
    return n;
  }

  /**
   * Whether slot `i`'s ring has room, read outside the publish step: a
   * change of membership may move head and tail meanwhile, which reads as
   * room (the step checks again); a count above the depth while membership
   * held still is corrupt memory.
   */
  roomNow(i: number): boolean {
    const w = this.words;
    const m = Atomics.load(w, C.membership);
    if ((m & 1) !== 0) return true;
    const n = (Atomics.load(w, this.slot(i, SLOT.head)) - Atomics.load(w, this.slot(i, SLOT.tail))) >>> 0;
    if (n <= this.layout.depth) return n < this.layout.depth;
    if (Atomics.load(w, C.membership) !== m) return true;
    throw invalid(`subscriber ${i}'s queue holds ${n} entries, more than its depth`);
  }

  /** Appends sample `j` to slot `i`'s ring (the caller made sure there is room): the index, its stamp, then head. */
  push(i: number, j: number): void {
    const w = this.words;
    const headAt = this.slot(i, SLOT.head);
    const next = (w[headAt] + 1) | 0; // only the publisher, or a joiner while none publishes, writes head
    const at = this.entry(i, next - 1);
    w[at + 1] = j; // published by the stamp's store
    Atomics.store(w, at, next);
    Atomics.store(w, headAt, next);
  }

  /**
   * Where slot `i`'s subscriber takes its next entry: under the block policy
   * only that subscriber moves tail, so it keeps tail itself ({@link follow});
   * under drop-oldest the publisher may move it too, so it is read each time.
   */
  #tail(i: number): number {
    const kept = this.#block ? this.#tails[i] : undefined;
    return kept ?? Atomics.load(this.words, this.slot(i, SLOT.tail));
  }

  /** Starts keeping slot `i`'s tail (its subscriber joined and set it). */
  follow(i: number): void {
    this.#tails[i] = Atomics.load(this.words, this.slot(i, SLOT.tail));
  }

  /** The stamp of the entry at slot `i`'s tail: the word that changes when an entry arrives (spinning polls it). */
  stampAtTail(i: number): number {
    return Atomics.load(this.words, this.entry(i, this.#tail(i)));
  }

  /** Whether an entry waits at slot `i`'s tail. */
  ready(i: number): boolean {
    const t = this.#tail(i);
    return Atomics.load(this.words, this.entry(i, t)) === ((t + 1) | 0);
  }

  /**
   * Takes the oldest entry of slot `i`'s ring: the sample index (checked),
   * or -1 when it is empty. An entry is there when its stamp is its position
   * + 1; tail then moves by a plain store (block policy) or by a
   * compare-and-swap, which a publisher dropping the oldest may win first.
   */
  take(i: number): number {
    const w = this.words;
    const tailAt = this.slot(i, SLOT.tail);
    let t = this.#tail(i);
    for (let race = 0; race < MAX_RACES; race++) {
      const at = this.entry(i, t);
      const next = (t + 1) | 0;
      if (Atomics.load(w, at) !== next) {
        if (this.#block) return -1;
        const moved = Atomics.load(w, tailAt); // the publisher dropped the entry and wrote over it?
        if (moved === t) return -1;
        t = moved;
        continue;
      }
      const j = w[at + 1] >>> 0; // stored before the stamp just read
      if (this.#block) Atomics.store(w, tailAt, next);
      else if (Atomics.compareExchange(w, tailAt, t, next) !== t) {
        t = Atomics.load(w, tailAt);
        continue;
      }
      this.#tails[i] = next;
      if (j >= this.layout.samples) {
        throw invalid(`subscriber ${i}'s queue names sample ${j} of ${this.layout.samples}`);
      }
      return j;
    }
    throw invalid(`subscriber ${i}'s queue kept moving under ${MAX_RACES} reads`);
  }

  /** Whether subscriber `i`'s bit is set in sample `j` (read after the entry that names it). */
  holds(j: number, i: number): boolean {
    return (this.words[this.record(j, i < 32 ? REC.maskLo : REC.maskHi)] & (1 << (i & 31))) !== 0;
  }

  /** Clears subscriber `i`'s bit in sample `j` (release). */
  clearBit(j: number, i: number): void {
    Atomics.and(this.words, this.record(j, i < 32 ? REC.maskLo : REC.maskHi), ~(1 << (i & 31)));
  }

  /** Sets subscriber `i`'s bit in sample `j`. */
  setBit(j: number, i: number): void {
    Atomics.or(this.words, this.record(j, i < 32 ? REC.maskLo : REC.maskHi), 1 << (i & 31));
  }

  /** Clears subscriber `i`'s bit in every sample (it left or died); empties its ring. */
  forget(i: number): void {
    for (let j = 0; j < this.layout.samples; j++) this.clearBit(j, i);
    Atomics.store(this.words, this.slot(i, SLOT.tail), Atomics.load(this.words, this.slot(i, SLOT.head)));
  }

  /** Whether nobody holds, queues, keeps or loans sample `j`. */
  free(j: number): boolean {
    return (Atomics.load(this.words, this.record(j, REC.maskLo)) |
      Atomics.load(this.words, this.record(j, REC.maskHi)) |
      Atomics.load(this.words, this.record(j, REC.flags))) === 0;
  }

  /** Loans the first free sample from `from` on (marks it loaned): its index, or -1 when none is free. */
  loan(from: number): number {
    const s = this.layout.samples;
    for (let k = 0; k < s; k++) {
      const j = (from + k) % s;
      if (this.free(j)) {
        Atomics.store(this.words, this.record(j, REC.flags), FLAG_LOANED);
        return j;
      }
    }
    return -1;
  }

  /** Gives a loan back unpublished. */
  unloan(j: number): void {
    Atomics.and(this.words, this.record(j, REC.flags), ~FLAG_LOANED);
  }

  /**
   * Step 4 of publish: the record of sample `j` with the live set's mask, and
   * the history ring turned (the entry it replaces loses its history flag).
   * Plain stores: nobody else writes these words of a loaned sample, and the
   * entries' stamps, stored after them with `Atomics`, publish them (the
   * publishing flag's store publishes the history to a joiner).
   */
  stamp(j: number, length: number, lo: number, hi: number): number {
    const w = this.words;
    const seq = w[C.published];
    const r = this.record(j, 0);
    w[r + REC.seq] = seq;
    w[r + REC.length] = length;
    w[r + REC.maskLo] = lo;
    w[r + REC.maskHi] = hi;
    const k = this.layout.history;
    if (k === 0) {
      w[r + REC.flags] = 0;
      return seq >>> 0;
    }
    w[r + REC.flags] = FLAG_HISTORY;
    const { count, next } = this.historyCursor();
    const at = this.layout.historyOffset / 4 + next;
    if (count === k) {
      const old = Atomics.load(w, at) >>> 0;
      if (old >= this.layout.samples) throw invalid(`the history names sample ${old}`);
      Atomics.and(w, this.record(old, REC.flags), ~FLAG_HISTORY);
    }
    Atomics.store(w, at, j);
    Atomics.store(w, C.historyNext, (next + 1) % k);
    Atomics.store(w, C.historyCount, Math.min(count + 1, k));
    return seq >>> 0;
  }

  /** The history's count and next position, checked. */
  historyCursor(): { count: number; next: number } {
    const count = Atomics.load(this.words, C.historyCount) >>> 0;
    const next = Atomics.load(this.words, C.historyNext) >>> 0;
    const k = this.layout.history;
    if (count > k || (k > 0 && next >= k)) throw invalid(`history cursor ${count}/${next} for a history of ${k}`);
    return { count, next };
  }

  /** The history's sample indices, oldest first (checked). */
  history(): number[] {
    const { count, next } = this.historyCursor();
    const k = this.layout.history;
    const out: number[] = [];
    for (let n = 0; n < count; n++) {
      const j = Atomics.load(this.words, this.layout.historyOffset / 4 + ((next - count + n + k) % k)) >>> 0;
      if (j >= this.layout.samples) throw invalid(`the history names sample ${j}`);
      out.push(j);
    }
    return out;
  }

  /** Published length of sample `j` (read after the entry that names it), checked. */
  length(j: number): number {
    const length = this.words[this.record(j, REC.length)] >>> 0;
    if (length > this.layout.sampleSize) {
      throw invalid(`sample ${j} says ${length} bytes, more than ${this.layout.sampleSize}`);
    }
    return length;
  }

  /** Sequence number of sample `j` (read after the entry that names it). */
  seq(j: number): number {
    return this.words[this.record(j, REC.seq)] >>> 0;
  }

  /** Published length and sequence number of sample `j`, checked. */
  sample(j: number): { length: number; seq: number } {
    return { length: this.length(j), seq: this.seq(j) };
  }
}
