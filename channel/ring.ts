/**
 * The ring of a Channel: where records go and where they are read, as
 * arithmetic over the header and the data area (docs/channel.md). Checks
 * only read shared memory; the few writes (a wrap marker, a record's state,
 * a position) are separate methods that name them. It works over any
 * Int32Arrays, so it is tested over a SharedArrayBuffer.
 *
 * @module
 */
import {
  corrupt,
  EMPTY,
  LAP,
  RECEIVER,
  RECORD,
  recordBytes,
  SENDER,
  SENDER_WAITS,
  stateOf,
  WRAP,
  wrapOf,
} from "./layout.ts";
import type { Role } from "./layout.ts";
import type { ShmError } from "../errors.ts";

/** {@link Ring.fit}: no room now. */
export const NO_ROOM = -1;
/** {@link Ring.fit}: the record does not fit before the end of the data area; {@link Ring.wrap} first. */
export const MUST_WRAP = -2;
/** {@link Ring.peek}: nothing at tail. */
export const NOTHING = -1;
/** {@link Ring.peek}: a wrap marker at tail; {@link Ring.skip} it. */
export const MARKER = -2;

/** `x mod m` for `x` from 0 to 2m − 1 (no division: a message does several). */
const wrapped = (x: number, m: number): number => x >= m ? x - m : x;

/** The header indices of head and tail (module constants: the hot paths read them on every message). */
const HEAD = SENDER.position;
const TAIL = RECEIVER.position;

/** How often one receive may find tail moved under it before the memory counts as corrupt. */
const MAX_RETRIES = 16;
/** Payload views kept for reuse, by slot (a power of two). */
const VIEWS = 1024;

/** One channel's ring; the sender's and the receiver's methods may be used by different objects. */
export class Ring {
  readonly h: Int32Array;
  readonly d32: Int32Array;
  readonly capacity: number;
  /** Positions count bytes modulo twice the capacity. */
  readonly mod: number;
  /** The sender's last reading of tail (tail only moves on, so it errs on the side of less room). */
  #tail = 0;
  readonly #d: Uint8Array;
  readonly #views: (Uint8Array | undefined)[] = [];
  /** Data offset + 1 and length of each kept view (plain numbers: a view's own getters cost more in some engines). */
  readonly #viewAt = new Int32Array(VIEWS);
  readonly #viewLength = new Int32Array(VIEWS);
  /** What a check found corrupt, if one did: every later call throws it again. */
  #broken: string | undefined;
  /** Set by fit: head, where the record goes. */
  head = 0;
  /** Set by peek: the data offset it found nothing at (the word to watch). */
  #nothingAt = 0;
  /** Set by peek: tail and the length of the message there. */
  tail = 0;
  length = 0;

  constructor(h: Int32Array, d: Uint8Array, capacity: number) {
    this.h = h;
    this.#d = d;
    this.d32 = new Int32Array(d.buffer, d.byteOffset, capacity >> 2);
    this.capacity = capacity;
    this.mod = 2 * capacity;
  }

  /**
   * The `n` payload bytes of the record at data offset `at`: the view handed
   * out last time for that slot and length, or a new one (a view costs more
   * than a message).
   */
  payload(at: number, n: number): Uint8Array {
    const slot = (at >> 3) & (VIEWS - 1);
    if (this.#viewAt[slot] === at + 1 && this.#viewLength[slot] === n) return this.#views[slot]!;
    const start = at + RECORD;
    this.#viewAt[slot] = at + 1;
    this.#viewLength[slot] = n;
    return (this.#views[slot] = this.#d.subarray(start, start + n));
  }

  /**
   * The error for corrupt memory, remembered: a channel that found its
   * memory corrupt stays so (for both of its sides), since nothing it reads
   * there can be trusted any more.
   */
  fail(what: string): ShmError {
    this.#broken ??= what;
    return corrupt(what);
  }

  /**
   * `role`'s position (head or tail), checked: a multiple of 8 below twice
   * the capacity (tail's {@link SENDER_WAITS} bit masked off). `atomic` false
   * reads it without ordering (an atomic load costs several times more): for
   * a position the caller itself writes, or one it reads again atomically
   * before it relies on it.
   */
  position(role: Role, atomic = true): number {
    if (this.#broken !== undefined) throw corrupt(this.#broken);
    const word = atomic ? Atomics.load(this.h, role.position) : this.h[role.position];
    const value = role === RECEIVER ? word & ~SENDER_WAITS : word;
    if (value < 0 || value >= this.mod || (value & 7) !== 0) throw this.#badPosition(role, value);
    return value;
  }

  /**
   * Moves tail from `from` to `to` if it is there (with or without the
   * {@link SENDER_WAITS} bit, which the move clears): 0 when tail was
   * elsewhere, 1 when moved, 2 when moved and the sender's bit was set.
   */
  #moveTail(from: number, to: number): number {
    const h = this.h;
    // The sender sets and clears its bit only around a sleep, so one or two tries do; a bit that flips 16 times
    // during one move is no sender's: the move counts as not made (the receiver then meets the marker again).
    for (let i = 0; i < MAX_RETRIES; i++) {
      const seen = Atomics.load(h, TAIL);
      if ((seen & ~SENDER_WAITS) !== from) return 0;
      if (Atomics.compareExchange(h, TAIL, seen, to) === seen) return seen === from ? 1 : 2;
    }
    return 0;
  }

  #badPosition(role: Role, value: number): ShmError {
    return this.fail(
      `${role === SENDER ? "head" : "tail"} is ${
        value >>> 0
      }, not a multiple of 8 below ${this.mod} (twice the capacity)`,
    );
  }

  /** Bytes from tail to head, checked: at most the capacity. */
  used(head: number, tail: number): number {
    const used = head >= tail ? head - tail : head - tail + this.mod;
    if (used > this.capacity) {
      throw this.fail(`head ${head} is ${used} bytes ahead of tail ${tail}, more than the capacity ${this.capacity}`);
    }
    return used;
  }

  /** Bytes in use seen from `head`: with the sender's last tail, or read again (`fresh`, or when that one cannot be right). */
  #usedFrom(head: number, fresh: boolean): number {
    const tail = this.#tail;
    const cached = head >= tail ? head - tail : head - tail + this.mod;
    if (!fresh && cached <= this.capacity) return cached;
    this.#tail = this.position(RECEIVER);
    return this.used(head, this.#tail);
  }

  /** Whether the slot after `bytes` more at `head` stays free (then the sender marks it empty). */
  #slotAfterFree(head: number, bytes: number): boolean {
    return this.#usedFrom(head, false) + bytes < this.capacity || this.#usedFrom(head, true) + bytes < this.capacity;
  }

  // ----- the sender's side -----

  /**
   * Where a record of `record` bytes goes (a data offset; {@link Ring.head}
   * is set to its position), {@link NO_ROOM}, or {@link MUST_WRAP}.
   */
  fit(record: number): number {
    if (this.#broken !== undefined) throw corrupt(this.#broken);
    const cap = this.capacity;
    const mod = this.mod;
    const head = this.h[HEAD]; // only the sender writes it
    if (head < 0 || head >= mod || (head & 7) !== 0) throw this.#badPosition(SENDER, head);
    const at = wrapped(head, cap);
    const need = record > cap - at ? cap - at : record;
    const tail = this.#tail;
    const cached = head >= tail ? head - tail : head - tail + mod;
    if ((cached > cap || cap - cached < need) && cap - this.#usedFrom(head, true) < need) return NO_ROOM;
    if (need !== record) return MUST_WRAP;
    this.head = head;
    return at;
  }

  /**
   * Writes a wrap marker at head and moves head to the next lap (after
   * {@link Ring.fit} said {@link MUST_WRAP}). When the marker is all the ring
   * holds it skips it for the receiver; returns false when the receiver must
   * skip it (wake it).
   */
  wrap(): boolean {
    const { h, d32, capacity: cap } = this;
    const head = this.position(SENDER, false);
    const at = wrapped(head, cap);
    const before = cap - at;
    if (this.#slotAfterFree(head, before)) d32[0] = EMPTY; // published by the marker's store
    const next = wrapped(head + before, this.mod);
    Atomics.store(d32, at >> 2, wrapOf(head, cap));
    h[SENDER.position] = next;
    // Tail may carry this sender's own waiting bit (it checks for room while it announces a sleep).
    if (this.#moveTail(head, next) === 0) return false;
    this.#tail = next;
    return true;
  }

  /**
   * Publishes the record of `n` payload bytes at data offset `at` and
   * position `head`: the next slot's state (when free) and the zero word,
   * then the state word (the atomic store that publishes them), then head.
   */
  publish(at: number, head: number, n: number): void {
    const d32 = this.d32;
    const cap = this.capacity;
    const record = recordBytes(n);
    const tail = this.#tail;
    const cached = head >= tail ? head - tail : head - tail + this.mod;
    if (cached + record < cap || this.#usedFrom(head, true) + record < cap) d32[wrapped(at + record, cap) >> 2] = EMPTY;
    d32[(at >> 2) + 1] = 0;
    Atomics.store(d32, at >> 2, stateOf(n, head, cap));
    this.h[HEAD] = wrapped(head + record, this.mod);
  }

  // ----- the receiver's side -----

  /**
   * The data offset of the message at tail ({@link Ring.tail} and
   * {@link Ring.length} are set), {@link NOTHING}, or {@link MARKER}.
   * `seen`: the state word {@link Ring.watch} just read, used instead of
   * loading it again when tail is still where the last peek found nothing
   * (tail is read again after it all the same).
   */
  peek(seen?: number): number {
    if (this.#broken !== undefined) throw corrupt(this.#broken);
    const { h, d32, capacity: cap, mod } = this;
    for (let retries = 0; retries < MAX_RETRIES; retries++) {
      const tail = h[TAIL] & ~SENDER_WAITS; // read again atomically below
      if (tail < 0 || tail >= mod || (tail & 7) !== 0) throw this.#badPosition(RECEIVER, tail);
      const at = wrapped(tail, cap);
      const state = seen !== undefined && at === this.#nothingAt ? seen : Atomics.load(d32, at >> 2);
      seen = undefined;
      // The sender skipped a lone wrap marker (and may be writing over it): start again.
      if ((Atomics.load(h, TAIL) & ~SENDER_WAITS) !== tail) continue;
      if (state === EMPTY) {
        this.#nothingAt = at;
        return NOTHING;
      }
      const marker = (state & ~LAP) === WRAP;
      if (marker && at === 0) throw this.fail("a wrap marker at offset 0 skips the whole data area");
      const n = (state & ~LAP) - 1;
      if (!marker && (n < 0 || n > cap - RECORD - at)) {
        throw this.fail(`a record at offset ${at} claims ${n} bytes, more than the ${cap - RECORD - at} there`);
      }
      // What this slot held one lap ago (the ring was full then, so nobody marked it empty): nothing yet.
      if ((state & LAP) !== (tail >= cap ? LAP : 0)) {
        this.#nothingAt = at;
        return NOTHING;
      }
      this.tail = tail;
      if (marker) return MARKER;
      this.length = n;
      return at;
    }
    throw this.fail(`its tail moved ${MAX_RETRIES} times during one receive`);
  }

  /** The state word where the last {@link Ring.peek} found nothing: it changes when a message comes. */
  watch(): number {
    return Atomics.load(this.d32, this.#nothingAt >> 2);
  }

  /**
   * Skips the wrap marker {@link Ring.peek} found (writing nothing into the
   * data area: the sender may already be writing there); true when this call
   * moved tail while the sender waited for room (then wake it).
   */
  skip(): boolean {
    const tail = this.tail;
    const at = wrapped(tail, this.capacity);
    return this.#moveTail(tail, wrapped(tail + this.capacity - at, this.mod)) === 2;
  }

  /**
   * Frees the message of `n` bytes at position `tail` (the slot keeps its
   * state: its lap bit tells it is old) with one exchange of tail, which
   * also clears and returns the sender's {@link SENDER_WAITS} bit: true when
   * the sender waits for room (then wake it). Tail found anywhere else than
   * `tail` means the memory was overwritten (nobody else moves tail while
   * a message is held: the ring is not empty).
   */
  release(tail: number, n: number): boolean {
    const old = Atomics.exchange(this.h, TAIL, wrapped(tail + recordBytes(n), this.mod));
    if ((old & ~SENDER_WAITS) !== tail) {
      throw this.fail(`tail moved from ${tail} to ${old >>> 0} while a message was held`);
    }
    return old !== tail;
  }
}
