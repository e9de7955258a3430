/**
 * The shared state of a publish-subscribe service as plain functions over its
 * words (docs/pubsub.md): the per-subscriber rings of entries, each
 * subscriber's held words, the sample records, the history ring. Nothing here
 * waits or calls the system, so it runs over a SharedArrayBuffer in tests.
 * Every value read from shared memory is checked before it is used, and every
 * loop is bounded by the layout's sizes.
 *
 * @module
 */
import { C, CONTROL_BYTES, ENTRY, FLAG_HISTORY, FLAG_LOANED, invalid, REC, RECORD_BYTES, SLOT } from "./layout.ts";
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
  /** Per sample: whether the last {@link collectFree} found it queued or held (the publisher's scratch). */
  #used: Uint8Array | undefined;
  /** The length and sequence number of the entry the last {@link take} returned. */
  takenLength = 0;
  takenSeq = 0;
  /** Word index of each slot's start, and of each slot's ring (precomputed: they are on every hot path). */
  readonly #slots: number[] = [];
  readonly #rings: number[] = [];
  /** The depth less one when it is a power of two (a position's ring index is then a mask), else -1. */
  readonly #mask: number;

  constructor(words: Int32Array, layout: PubSubLayout) {
    this.words = words;
    this.layout = layout;
    this.#block = layout.policy === "block";
    const { depth, subscribers, slotBytes, queuesOffset } = layout;
    for (let i = 0; i < subscribers; i++) {
      this.#slots.push((CONTROL_BYTES + slotBytes * i) / 4);
      this.#rings.push(queuesOffset / 4 + 4 * depth * i);
    }
    this.#mask = (depth & (depth - 1)) === 0 ? depth - 1 : -1;
  }

  /** Word index of field `w` of slot `i`. */
  slot(i: number, w: number): number {
    return this.#slots[i] + w;
  }

  /** Word index of field `w` of sample record `j`. */
  record(j: number, w: number): number {
    return (this.layout.recordsOffset + RECORD_BYTES * j) / 4 + w;
  }

  /** Word index of the entry at position `n` of slot `i`'s ring (its stamp; index, length and seq follow). */
  entry(i: number, n: number): number {
    const mask = this.#mask;
    return this.#rings[i] + 4 * (mask >= 0 ? n & mask : (n >>> 0) % this.layout.depth);
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

  /**
   * Appends sample `j` (`length` bytes, sequence number `seq`) to slot `i`'s
   * ring (the caller made sure there is room): the entry's words, its stamp,
   * then head. Head is a plain store: only a sleeping subscriber reads it, and
   * the publishing flag's store (or the lock's release) that ends the step
   * publishes it before any wake.
   */
  push(i: number, j: number, length: number, seq: number): void {
    const w = this.words;
    const headAt = this.slot(i, SLOT.head);
    const next = (w[headAt] + 1) | 0; // only the publisher, or a joiner while none publishes, writes head
    const at = this.entry(i, next - 1);
    w[at + ENTRY.index] = j; // published by the stamp's store
    w[at + ENTRY.length] = length;
    w[at + ENTRY.seq] = seq;
    Atomics.store(w, at, next);
    w[headAt] = next;
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
   * Takes the oldest entry of slot `i`'s ring into held word `k`: the sample
   * index (checked; its length and sequence number in {@link takenLength} and
   * {@link takenSeq}), or -1 when it is empty. An entry is there when its
   * stamp is its position + 1. The held word is stored first (index + 1), then
   * tail moves, by a store (block policy) or by a compare-and-swap, which a
   * publisher dropping the oldest may win first: so a publisher that reads
   * tail and then the held words never misses the sample. `stamp`, when
   * given, is the stamp at tail just read with `Atomics.load`
   * ({@link stampAtTail}): the first look uses it instead of reading again.
   */
  take(i: number, k: number, stamp?: number): number {
    const w = this.words;
    const tailAt = this.slot(i, SLOT.tail);
    const heldAt = tailAt + 1 + k;
    let t = this.#tail(i);
    for (let race = 0; race < MAX_RACES; race++) {
      const at = this.entry(i, t);
      const next = (t + 1) | 0;
      const seen = race === 0 && stamp !== undefined ? stamp : Atomics.load(w, at);
      if (seen !== next) {
        if (this.#block) return -1;
        const moved = Atomics.load(w, tailAt); // the publisher dropped the entry and wrote over it?
        if (moved === t) return -1;
        t = moved;
        continue;
      }
      const j = w[at + ENTRY.index] >>> 0; // stored before the stamp just read
      const length = w[at + ENTRY.length] >>> 0;
      const seq = w[at + ENTRY.seq] >>> 0;
      if (j >= this.layout.samples) {
        throw invalid(`subscriber ${i}'s queue names sample ${j} of ${this.layout.samples}`);
      }
      w[heldAt] = j + 1; // published by tail's store
      if (this.#block) Atomics.store(w, tailAt, next);
      else if (Atomics.compareExchange(w, tailAt, t, next) !== t) {
        w[heldAt] = 0; // the publisher dropped it first
        t = Atomics.load(w, tailAt);
        continue;
      }
      this.#tails[i] = next;
      if (length > this.layout.sampleSize) {
        throw invalid(`sample ${j} says ${length} bytes, more than ${this.layout.sampleSize}`);
      }
      this.takenLength = length;
      this.takenSeq = seq;
      return j;
    }
    throw invalid(`subscriber ${i}'s queue kept moving under ${MAX_RACES} reads`);
  }

  /** Release: empties held word `k` of slot `i` (after every read of the sample). */
  release(i: number, k: number): void {
    Atomics.store(this.words, this.slot(i, SLOT.held + k), 0);
  }

  /**
   * Drop-oldest (the publisher, in the publish step): takes slot `i`'s oldest
   * entry by a compare-and-swap of tail; false when its subscriber took it first.
   */
  drop(i: number): boolean {
    const w = this.words;
    const tailAt = this.slot(i, SLOT.tail);
    const t = Atomics.load(w, tailAt);
    if (Atomics.load(w, this.entry(i, t)) !== ((t + 1) | 0)) return false;
    return Atomics.compareExchange(w, tailAt, t, (t + 1) | 0) === t;
  }

  /** Empties subscriber `i`'s held words and its ring (it left or died): its samples come back. */
  forget(i: number): void {
    for (let k = 0; k < this.layout.borrows; k++) this.release(i, k);
    Atomics.store(this.words, this.slot(i, SLOT.tail), Atomics.load(this.words, this.slot(i, SLOT.head)));
  }

  /**
   * Pushes onto `out` every sample nobody queues, holds, keeps or loans (run
   * as a publish step: no change of membership meanwhile). For each live
   * slot, tail first, then the entries from tail to head, then the held
   * words: a subscriber stores its held word before it moves tail, so a
   * sample it takes meanwhile is seen in one or the other. A sample found
   * free stays free until this publisher loans it: only the publisher queues
   * samples, and a joiner queues only samples kept for history.
   */
  collectFree(out: number[]): void {
    const w = this.words;
    const { samples, subscribers, depth, borrows } = this.layout;
    const used = this.#used ??= new Uint8Array(samples);
    used.fill(0);
    for (let i = 0; i < subscribers; i++) {
      if (Atomics.load(w, this.slot(i, SLOT.state)) !== 1) continue;
      const tailAt = this.slot(i, SLOT.tail);
      const tail = Atomics.load(w, tailAt);
      const head = w[this.slot(i, SLOT.head)];
      const n = (head - tail) >>> 0;
      if (n > depth) throw invalid(`subscriber ${i}'s queue holds ${n} entries, more than its depth`);
      for (let p = 0; p < n; p++) {
        const j = w[this.entry(i, tail + p) + ENTRY.index] >>> 0;
        if (j >= samples) throw invalid(`subscriber ${i}'s queue names sample ${j} of ${samples}`);
        used[j] = 1;
      }
      for (let k = 0; k < borrows; k++) {
        const v = w[tailAt + 1 + k] >>> 0;
        if (v === 0) continue;
        if (v > samples) throw invalid(`subscriber ${i} holds sample ${v - 1} of ${samples}`);
        used[v - 1] = 1;
      }
    }
    for (let j = 0; j < samples; j++) {
      if (used[j] === 0 && w[this.record(j, REC.flags)] === 0) out.push(j);
    }
  }

  /** Marks sample `j` loaned (one the publisher found free). */
  loan(j: number): void {
    this.words[this.record(j, REC.flags)] = FLAG_LOANED; // only the publisher reads and writes flags
  }

  /** Gives a loan back unpublished. */
  unloan(j: number): void {
    this.words[this.record(j, REC.flags)] &= ~FLAG_LOANED;
  }

  /**
   * Step 4 of publish: the record of sample `j` (its length and sequence
   * number, which a joiner copies into the entries of its history), and the
   * history ring turned (the entry it replaces loses its history flag). Plain
   * stores: only the publisher writes these words, and the publishing flag's
   * store (or the lock's release) publishes them to a joiner.
   */
  stamp(j: number, length: number): number {
    const w = this.words;
    const seq = w[C.published];
    const r = this.record(j, 0);
    w[r + REC.seq] = seq;
    w[r + REC.length] = length;
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
      w[this.record(old, REC.flags)] &= ~FLAG_HISTORY;
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

  /** Published length of sample `j` (a joiner, for its history), checked. */
  length(j: number): number {
    const length = this.words[this.record(j, REC.length)] >>> 0;
    if (length > this.layout.sampleSize) {
      throw invalid(`sample ${j} says ${length} bytes, more than ${this.layout.sampleSize}`);
    }
    return length;
  }

  /** Sequence number of sample `j` (a joiner, for its history). */
  seq(j: number): number {
    return this.words[this.record(j, REC.seq)] >>> 0;
  }

  /** Published length and sequence number of sample `j`, checked. */
  sample(j: number): { length: number; seq: number } {
    return { length: this.length(j), seq: this.seq(j) };
  }
}
